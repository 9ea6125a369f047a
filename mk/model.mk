# mk/model.mk - model files: header dependencies and the libFuzzer target.
#   make fuzz-model [FUZZ_TIME=60]   fuzz the model file parser with clang's
#                                    libFuzzer + ASan + UBSan; crashes are
#                                    written to build/fuzz/crash-*
.PHONY: fuzz-model
fuzz: fuzz-model

# The main rules only know internal.h and jacnet.h.
$(BUILD)/obj/model_file.o: src/model_file.h
$(BUILD)/tests/test_model_file: src/model_file.h

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_DIR := build/fuzz
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS := $(SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)

$(FUZZ_DIR)/obj/%.o: src/%.c src/internal.h src/model_file.h include/jacnet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
	    $(WARN) $(BLAS_CFLAGS) $(ZLIB_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_model: fuzz/fuzz_model.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -std=c11 -Iinclude -Isrc $(WARN) $(ZLIB_CFLAGS) \
	    $< $(FUZZ_OBJS) -o $@ $(DEP_LIBS)

$(FUZZ_DIR)/model_seeds: fuzz/model_seeds.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -Iinclude $(WARN) $< -o $@ $(STATIC) $(DEP_LIBS)

fuzz-model: $(FUZZ_DIR)/fuzz_model $(FUZZ_DIR)/model_seeds
	@mkdir -p $(FUZZ_DIR)/corpus-model $(FUZZ_DIR)/seeds-model
	$(FUZZ_DIR)/model_seeds $(FUZZ_DIR)/seeds-model
	cd $(FUZZ_DIR) && ./fuzz_model -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=1 \
	    corpus-model seeds-model
