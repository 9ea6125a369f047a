# mk/data.mk - data loaders: `make data`, `make fuzz`, `make bench-load`.
# Included by the Makefile; uses its variables (CC, BUILD, STATIC, DEP_LIBS...).

JACNET_DATA ?= $(CURDIR)/data

# MNIST into $(JACNET_DATA)/mnist, checked against the canonical MD5s.
data:
	JACNET_DATA=$(JACNET_DATA) sh scripts/fetch_mnist.sh

# Loading speed against `gzip -dc` of the same files (docs/DATA.md).
.PHONY: bench-load
bench-load: $(BUILD)/bench/bench_load
	JACNET_DATA=$(JACNET_DATA) ./$(BUILD)/bench/bench_load

$(BUILD)/bench/bench_load: bench/bench_load.c $(STATIC) include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN) $< -o $@ $(STATIC) $(DEP_LIBS)

# ---- fuzzing: every fuzz/fuzz_*.c is a libFuzzer target (a new file, such
# as a model-file target, is picked up without touching this file) ----
#   make fuzz FUZZ_SECONDS=60     build all targets and run each for N seconds
#   make fuzz-build               build only
# Crashes land in build/fuzz/artifacts/; turn each into a regression case in
# tests/test_loaders.c (or the target's own test file).
.PHONY: fuzz fuzz-build
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(BLAS_CFLAGS) $(ZLIB_CFLAGS)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJS := $(addprefix $(FUZZ_DIR)/obj/,$(notdir $(SRCS:.c=.o)))

$(FUZZ_DIR)/obj/%.o: %.c $(LIB_HEADERS) include/jacnet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -fvisibility=hidden -c $< -o $@

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) -o $@ $(DEP_LIBS)

fuzz-build: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_LIB_OBJS)

# Seeds: a valid small IDX pair, USPS line and CSV, so the fuzzer starts
# from inside the formats rather than having to discover the magic first.
$(FUZZ_DIR)/seeds.stamp: mk/data.mk
	@mkdir -p $(FUZZ_DIR)/corpus/fuzz_idx $(FUZZ_DIR)/corpus/fuzz_usps $(FUZZ_DIR)/corpus/fuzz_csv
	printf '\024\000\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\002\001\200\377\000\000\000\010\001\000\000\000\002\003\011' \
	    > $(FUZZ_DIR)/corpus/fuzz_idx/seed-raw
	printf '3' > $(FUZZ_DIR)/corpus/fuzz_usps/seed-line; \
	 i=0; while [ $$i -lt 256 ]; do printf ' -0.5' >> $(FUZZ_DIR)/corpus/fuzz_usps/seed-line; i=$$((i+1)); done; \
	 printf '\n' >> $(FUZZ_DIR)/corpus/fuzz_usps/seed-line
	gzip -c < $(FUZZ_DIR)/corpus/fuzz_usps/seed-line > $(FUZZ_DIR)/corpus/fuzz_usps/seed-line.gz
	printf 'label,a,b\n1,0.5,2e3\n0,-1,3\n' > $(FUZZ_DIR)/corpus/fuzz_csv/seed-header
	gzip -c < $(FUZZ_DIR)/corpus/fuzz_csv/seed-header > $(FUZZ_DIR)/corpus/fuzz_csv/seed-header.gz
	touch $@

fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/seeds.stamp
	@rm -rf $(FUZZ_DIR)/artifacts; mkdir -p $(FUZZ_DIR)/artifacts
	@fail=0; for t in $(FUZZ_BINS); do n=$$(basename $$t); mkdir -p $(FUZZ_DIR)/corpus/$$n; \
	  echo "== $$n for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1 ./$$t -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$n- $(FUZZ_DIR)/corpus/$$n 2>&1 | \
	    grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Test unit written|^Done' || true; \
	  ls $(FUZZ_DIR)/artifacts/$$n-* >/dev/null 2>&1 && fail=1; \
	 done; [ $$fail = 0 ] && echo "fuzz: no crashes" || { echo "fuzz: crashes in $(FUZZ_DIR)/artifacts"; exit 1; }
