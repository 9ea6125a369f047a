# mk/robustness.mk - robustness of the Table 1 models (issue 25, item 3;
# docs/RESULTS.md, "Robustness to adversarial inputs"):
#
#   make robustness [ROBUST_DATASET=usps] [ROBUST_MODELS=docs/results/usps/final/models] [ROBUST_ARGS=...]
#        clean error, FGSM and PGD (eps 0.05, 0.1, 0.2) and Figure 2's
#        Gaussian noise for every MODEL-seedS.jn in ROBUST_MODELS (the
#        models are not committed: `make reproduce-usps` remakes USPS's),
#        one thread, nice 5: records and robustness.csv in
#        docs/results/$(ROBUST_DATASET)/robustness/, the figure in
#        docs/figures/robustness_$(ROBUST_DATASET).png
#        (scripts/repro/robustness.py; data from $JACNET_DATA).
#   make robustness-plot [ROBUST_DATASET=usps]   the figure from the committed CSV
# ROBUST_ARGS defaults to --pgd-steps 10,100 (PGD with 100 steps too, the check
# that 10 suffice: a minute a USPS model); on MNIST pass ROBUST_ARGS= (100 steps
# cost about 20 minutes a model there).
ROBUST_DATASET ?= usps
ROBUST_MODELS ?= docs/results/$(ROBUST_DATASET)/final/models
ROBUST_OUT = docs/results/$(ROBUST_DATASET)/robustness
ROBUST_ARGS ?= --pgd-steps 10,100

.PHONY: robustness robustness-plot
robustness: $(CLI_BIN)
	$(PYTHON) scripts/repro/robustness.py run $(ROBUST_DATASET) $(ROBUST_MODELS) $(ROBUST_OUT) \
	    --jacnet $(CLI_BIN) $(ROBUST_ARGS)
	@$(MAKE) --no-print-directory robustness-plot ROBUST_DATASET=$(ROBUST_DATASET)
robustness-plot:
	$(PYTHON) scripts/repro/robustness.py plot $(ROBUST_OUT) docs/figures/robustness_$(ROBUST_DATASET).png
	$(PYTHON) scripts/repro/robustness.py table $(ROBUST_OUT)
