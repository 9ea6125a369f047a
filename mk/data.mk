# mk/data.mk - data loaders: `make data`, `make fuzz`, `make bench-load`.
# Included by the Makefile; uses its variables (CC, BUILD, STATIC, DEP_LIBS...).

# The loaders also depend on their private header.
$(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/load_*.c src/reader.c src/scan.c)): src/reader.h

JACNET_DATA ?= $(CURDIR)/data

# MNIST into $(JACNET_DATA)/mnist, checked against the canonical MD5s.
data:
	JACNET_DATA=$(JACNET_DATA) sh scripts/fetch_mnist.sh
