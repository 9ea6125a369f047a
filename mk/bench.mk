# mk/bench.mk - performance benchmarks (docs/PERFORMANCE.md).
#   make bench            libjacnet's training-step throughput, GFLOP/s against
#                         the BLAS's sgemm, and peak memory, with 1 and 2 threads
#   make bench-compare    the same steps in PyTorch, alternated with libjacnet's
#                         in the same run, and the libjacnet/PyTorch ratios
#   make bench-plot       throughput against hidden width (docs/perf_width.png)
#   make bench-form       the penalty's direct and Gram forms against each other
#   make bench-sweep      B2 against batch, width, depth, outputs, fp32/bf16, with the model
#   BENCH_ARGS=...        extra options for bench/bench (e.g. --rounds 5)
# None of these is part of `make check`.
.PHONY: bench-compare bench-plot bench-torch-deps bench-form

BENCH_BIN := $(BUILD)/bench/bench
BENCH_ARGS ?=
PY3 := /usr/bin/python3

# With oneDNN (mk/dnnl.mk) the bench also times oneDNN's own bfloat16 matmul
# (sgemmbf16), the rate the BF16 penalty can approach.
BENCH_DNNL_FLAGS = $(if $(filter 1,$(DNNL)),-DBENCH_DNNL $(DNNL_CFLAGS))
BENCH_DNNL_LIBS = $(if $(filter 1,$(DNNL)),$(DNNL_LIBS))

$(BENCH_BIN): bench/bench.c bench/flops.c bench/bench.h $(SHARED) include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -Iinclude -Ibench $(WARN) $(BLAS_CFLAGS) $(BENCH_DNNL_FLAGS) bench/bench.c bench/flops.c \
	    -o $@ -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet $(BLAS_LIBS) $(BENCH_DNNL_LIBS) -lm

bench: all $(BENCH_BIN)
	$(BENCH_BIN) $(BENCH_ARGS)
	@if [ -d "$(JACNET_DATA)/mnist" ]; then $(MAKE) --no-print-directory bench-load; \
	 else echo "MNIST load speed: skipped (no $(JACNET_DATA)/mnist; set JACNET_DATA or run make data)"; fi

$(BUILD)/bench/bench_form: bench/bench_form.c $(SHARED) include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN) $< -o $@ \
	    -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet -lm

bench-form: all $(BUILD)/bench/bench_form
	$(BUILD)/bench/bench_form 1
	$(BUILD)/bench/bench_form 2

# PyTorch comes from Debian (python3-torch 1.13); installed here only, when
# missing and when we are root, so the library itself never depends on it.
bench-torch-deps:
	@$(PY3) -c 'import torch' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y python3-torch; \
	  else echo "bench-compare needs python3-torch: apt-get install python3-torch"; exit 1; fi; }

bench-compare: all $(BENCH_BIN) bench-torch-deps
	$(PY3) bench/compare.py --bench $(BENCH_BIN) $(BENCH_ARGS)

bench-plot: all $(BENCH_BIN) bench-torch-deps
	@$(PY3) -c 'import matplotlib' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y python3-matplotlib; \
	  else echo "bench-plot needs python3-matplotlib"; exit 1; fi; }
	$(PY3) bench/plot_width.py --bench $(BENCH_BIN) $(BENCH_ARGS)

# How cost grows (docs/PERFORMANCE.md): B2 against batch, width, depth and
# outputs, float32 and bfloat16, beside the analytical model, into
# $(SWEEP_CSV) and the PNG next to it. The full grid takes long;
#   make bench-sweep SWEEP_ARGS=--smoke SWEEP_CSV=/tmp/sweep.csv
# only checks that the scripts work.
.PHONY: bench-sweep
SWEEP_ARGS ?=
SWEEP_CSV ?= docs/perf_sweep.csv
bench-sweep: all $(BENCH_BIN)
	@$(PY3) -c 'import matplotlib' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y python3-matplotlib; \
	  else echo "bench-sweep needs python3-matplotlib"; exit 1; fi; }
	$(PY3) bench/sweep.py --bench $(BENCH_BIN) --out $(SWEEP_CSV) $(SWEEP_ARGS)
	$(PY3) bench/plot_sweep.py --csv $(SWEEP_CSV)
