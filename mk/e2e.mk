# mk/e2e.mk - end-to-end wall time of one full USPS training run of the
# report's nj model (256-1000-10, lambda 0.3, noise std 0.1, batch 20, SGD
# lr 0.1, <= 300 epochs, patience 15, seed 1) in libjacnet float32,
# libjacnet bf16 and PyTorch, one after the other (docs/PERFORMANCE.md):
#   make bench-e2e        writes $(E2E_OUT)/e2e.{csv,json,md} and each run's
#                         record and log, and prints the table; 10-30 minutes
#   E2E_THREADS=T         threads of every implementation (default 2)
#   E2E_ARGS=...          more options of bench/e2e.py, e.g. --only a,c or
#                         --max-epochs 2 (a quick check of the scripts)
#   make bench-e2e E2E_ARGS="--max-epochs 2" E2E_OUT=/tmp/e2e   (about a minute)
# Needs USPS in $(JACNET_DATA)/usps (or ./data/usps) and python3-torch
# (installed by bench-torch-deps, mk/bench.mk). Not part of `make check`.
.PHONY: bench-e2e
E2E_THREADS ?= 2
E2E_OUT ?= docs/results/e2e
E2E_ARGS ?=

bench-e2e: all bench-torch-deps
	JACNET_LIB=$(CURDIR)/$(SHARED) $(PY3) bench/e2e.py --jacnet $(CLI_BIN) --threads $(E2E_THREADS) \
	    --out $(E2E_OUT) $(E2E_ARGS)
