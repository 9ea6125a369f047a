# mk/dnnl.mk - oneDNN, the optional backend of the bfloat16 penalty products
# (src/backend/dnnl.c; jn_objective_set_precision in jacnet.h).
#   make            uses oneDNN when its header and library are found
#                   (Debian: apt-get install libdnnl-dev)
#   make DNNL=1     requires it (stops with a message when it is missing)
#   make DNNL=0     builds without it: BF16 then always falls back to FP32
#   DNNL_CFLAGS=... DNNL_LIBS=...   another oneDNN (default: -ldnnl)
# Debian ships no pkg-config file for oneDNN, so the probe is the header and
# the library the compiler finds. libjacnet.so links it; libjacnet.a refers
# to it weakly (src/backend/dnnl.c), so jacnet.pc does not list it and a static link
# (`-static`, Debian has no libdnnl.a) works without it, in float32; add
# -ldnnl to an archive link to get bfloat16 there (README.md).
DNNL_CFLAGS ?=
DNNL_LIBS ?= -ldnnl

dnnl_found = $(shell printf '\#include <oneapi/dnnl/dnnl.h>\n' | $(CC) $(DNNL_CFLAGS) -E -x c - >/dev/null 2>&1 && \
               { [ "$(DNNL_LIBS)" != "-ldnnl" ] || $(CC) -print-file-name=libdnnl.so | grep -q /; } && echo 1)

ifeq ($(origin DNNL),undefined)
  DNNL := $(if $(dnnl_found),1,0)
else ifeq ($(DNNL),1)
  ifneq ($(dnnl_found),1)
    $(error DNNL=1 but oneDNN's header <oneapi/dnnl/dnnl.h> or libdnnl.so is not found; apt-get install libdnnl-dev, or set DNNL_CFLAGS/DNNL_LIBS)
  endif
endif

ifeq ($(DNNL),1)
  # Needed even where the linker defaults to --as-needed, which does not
  # count weak references as a use.
  DEP_LIBS += -Wl,--push-state,--no-as-needed $(DNNL_LIBS) -Wl,--pop-state
  $(BUILD)/obj/dnnl.o: LIB_CFLAGS += -DJN_HAVE_DNNL $(DNNL_CFLAGS)
  $(TEST_BINS): CHECK_CFLAGS += -DJN_TEST_HAVE_DNNL
endif

# Rebuild what the choice changes when it changes: a stamp holding it,
# rewritten only when different.
DNNL_STATE := $(BUILD)/dnnl-state
dnnl_state_now := DNNL=$(DNNL) $(DNNL_CFLAGS) $(DNNL_LIBS)
ifneq ($(shell cat $(DNNL_STATE) 2>/dev/null),$(dnnl_state_now))
  $(shell mkdir -p $(BUILD) && echo '$(dnnl_state_now)' > $(DNNL_STATE))
  $(info oneDNN bfloat16 products: $(if $(filter 1,$(DNNL)),yes ($(DNNL_LIBS)),no))
endif
$(BUILD)/obj/dnnl.o $(SHARED) pkgconfig/jacnet.pc $(TEST_BINS): $(DNNL_STATE)
$(SHARED) pkgconfig/jacnet.pc: mk/dnnl.mk
$(BENCH_BIN): $(DNNL_STATE)
