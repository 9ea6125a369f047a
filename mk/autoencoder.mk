# mk/autoencoder.mk - the float-targets example.
#
#   make examples-cae   build/examples/contractive_ae --quick: a 784-32-784
#                       sigmoid auto-encoder with the Jacobian penalty on 1000
#                       MNIST digits for one epoch (about 25 s on 2 cores);
#                       fails unless the test reconstruction loss falls. Needs
#                       MNIST in $(JACNET_DATA)/mnist (make data); says SKIP
#                       without it.
.PHONY: examples-cae

examples-cae: $(BUILD)/examples/contractive_ae
	@if [ -d "$(JACNET_DATA)/mnist" ]; then \
	  echo "$(BUILD)/examples/contractive_ae --quick --data $(JACNET_DATA)"; \
	  $(BUILD)/examples/contractive_ae --quick --data $(JACNET_DATA); \
	else echo "examples-cae: SKIP (no $(JACNET_DATA)/mnist; set JACNET_DATA or run make data)"; fi
