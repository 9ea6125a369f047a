# mk/data.mk - data loaders: `make data`, `make fuzz`, `make bench-load`.
# Included by the Makefile; uses its variables (CC, BUILD, STATIC, DEP_LIBS...).

# The loaders also depend on their private header.
$(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/load_*.c src/reader.c src/scan.c)): src/reader.h

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
