# mk/model.mk - model files: header dependencies and the fuzz seeds.
# The model-file fuzz target (fuzz/fuzz_model.c) is built and run by the
# generic `make fuzz` rule in mk/data.mk; this file only gives it valid
# model files to start from, written by fuzz/model_seeds.c.

# The test reads the file layout's private header too.
$(BUILD)/tests/test_model_file: src/net/model_file.h

.PHONY: fuzz-model-seeds
fuzz: fuzz-model-seeds
fuzz-model-seeds: $(BUILD)/fuzz-tools/model_seeds
	@mkdir -p build/fuzz/corpus/fuzz_model
	$(BUILD)/fuzz-tools/model_seeds build/fuzz/corpus/fuzz_model

$(BUILD)/fuzz-tools/model_seeds: fuzz/model_seeds.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN) $< -o $@ $(STATIC) $(DEP_LIBS)
