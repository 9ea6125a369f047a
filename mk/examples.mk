# Examples: built against the freshly built shared library.
# examples/mpi_*.c need mpicc: mk/mpi.mk builds them.
EXAMPLE_SRCS := $(filter-out examples/mpi_%,$(sort $(wildcard examples/*.c)))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

$(BUILD)/examples/%: examples/%.c $(SHARED) include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN) $< -o $@ \
	    -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet

examples: all $(EXAMPLE_BINS)
	$(BUILD)/examples/hello

# The main job: fetch MNIST if missing, train MLP+N+J a few epochs, print the test error.
DEMO_ARGS ?=
demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory demo-run

demo-run: all $(BUILD)/examples/train_mnist
	@$(MAKE) --no-print-directory data
	$(BUILD)/examples/train_mnist --data $(JACNET_DATA) $(DEMO_ARGS)
