# mk/mpi.mk - libjacnet_mpi: data-parallel training and parallel sweeps on
# MPI (include/jacnet_mpi.h, mpi/jacnet_mpi.c, docs/SCALING.md). A library
# of its own, so libjacnet never links MPI.
#
#   make                 also builds lib/libjacnet_mpi.so.X.Y.Z (SONAME
#                        libjacnet_mpi.so.X), lib/libjacnet_mpi.a and
#                        pkgconfig/jacnet-mpi.pc when $(MPICC) is found
#   make MPI=1 / MPI=0   force (fails without mpicc) / skip it
#   make check-mpi       MPI tests with 1, 2 and 4 ranks (tests/mpi/run.sh),
#                        also of `jacnet train --mpi` and `jacnet sweep --mpi`
#   make install / uninstall    also (un)install the MPI library, header
#                        and jacnet-mpi.pc when it is built
#   make examples-mpi    build/examples/mpi_train, run on 2 ranks (quick)
#   MPIRUN=..., MPIRUN_FLAGS=...   how the tests start jobs

MPICC ?= mpicc
MPIRUN ?= mpirun
MPI ?= auto
ifeq ($(MPI),auto)
  MPI_BUILD := $(shell command -v $(firstword $(MPICC)) >/dev/null 2>&1 && echo 1)
else ifeq ($(MPI),1)
  MPI_BUILD := 1
else
  MPI_BUILD :=
endif

MPI_VERSION_MAJOR := $(shell sed -n 's/^\#define JN_MPI_VERSION_MAJOR \([0-9]*\)/\1/p' include/jacnet_mpi.h)
MPI_VERSION_MINOR := $(shell sed -n 's/^\#define JN_MPI_VERSION_MINOR \([0-9]*\)/\1/p' include/jacnet_mpi.h)
MPI_VERSION_PATCH := $(shell sed -n 's/^\#define JN_MPI_VERSION_PATCH \([0-9]*\)/\1/p' include/jacnet_mpi.h)
MPI_VERSION := $(MPI_VERSION_MAJOR).$(MPI_VERSION_MINOR).$(MPI_VERSION_PATCH)
MPI_SONAME := libjacnet_mpi.so.$(MPI_VERSION_MAJOR)
MPI_SHARED := $(LIBOUT)/libjacnet_mpi.so.$(MPI_VERSION)
MPI_STATIC := $(LIBOUT)/libjacnet_mpi.a
MPI_OBJ := $(BUILD)/mpi/jacnet_mpi.o
# The .pc names the MPI's own pkg-config module when it has one, so that
# pkg-config users without mpicc get mpi.h's directory and -lmpi.
MPI_PC := $(firstword $(foreach p,ompi-c mpich,$(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo $(p))))
MPI_CFLAGS_ALL = $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN)
# Test and example programs find the uninstalled libraries through rpath.
MPI_PROG_LIBS = -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet_mpi -ljacnet -lm

.PHONY: mpi mpi-probe check-mpi check-mpi-symbols install-mpi uninstall-mpi examples-mpi install-mpi-test

ifneq ($(MPI_BUILD),)
all: mpi
install: install-mpi
uninstall: uninstall-mpi
# The jacnet tool (mk/cli.mk) then links libjacnet_mpi.a for `--mpi`.
$(BUILD)/bin/jacnet: $(MPI_STATIC)
endif
mpi: mpi-probe $(MPI_SHARED) $(MPI_STATIC) pkgconfig/jacnet-mpi.pc

mpi-probe:
	@command -v $(firstword $(MPICC)) >/dev/null 2>&1 || { \
	  echo "error: $(MPICC) not found; libjacnet_mpi needs an MPI (Debian: apt-get install libopenmpi-dev"; \
	  echo "  openmpi-bin), or build without it: make MPI=0"; exit 1; }

$(MPI_OBJ): mpi/jacnet_mpi.c include/jacnet_mpi.h include/jacnet.h
	@mkdir -p $(@D)
	$(MPICC) $(MPI_CFLAGS_ALL) -fPIC -fvisibility=hidden -c $< -o $@

$(MPI_SHARED): $(MPI_OBJ) $(SHARED)
	@mkdir -p $(@D)
	$(MPICC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(MPI_SONAME) -o $@ $(MPI_OBJ) -L$(LIBOUT) -ljacnet
	ln -sf libjacnet_mpi.so.$(MPI_VERSION) $(LIBOUT)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $(LIBOUT)/libjacnet_mpi.so

$(MPI_STATIC): $(MPI_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(MPI_OBJ)

MPI_PC_SED = sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(patsubst $(prefix)/%,$${prefix}/%,$(libdir))|' \
	    -e 's|@includedir@|$(patsubst $(prefix)/%,$${prefix}/%,$(includedir))|' \
	    -e 's|@VERSION@|$(MPI_VERSION)|' -e 's|@MPI_PC@|$(MPI_PC)|'
pkgconfig/jacnet-mpi.pc: pkgconfig/jacnet-mpi.pc.in include/jacnet_mpi.h mk/mpi.mk
	$(MPI_PC_SED) $< > $@

# Only jn_mpi_ symbols may leave libjacnet_mpi, and they must match
# abi/symbols-mpi.txt (docs/ABI.md); `make abi-update-mpi` rewrites it.
MPI_ABI_NM = nm -D --defined-only $(MPI_SHARED) | awk '$$3 ~ /^jn_/ {print $$3}' | LC_ALL=C sort
check-mpi-symbols: $(MPI_SHARED)
	@bad=$$(nm -D --defined-only $(MPI_SHARED) | awk '{print $$3}' | grep -v '^jn_mpi_' | grep -v '^_'); \
	 if [ -n "$$bad" ]; then echo "libjacnet_mpi exports non-jn_mpi_ symbols:"; echo "$$bad"; exit 1; fi
	@$(MPI_ABI_NM) > $(BUILD)/symbols-mpi.now
	@diff -u abi/symbols-mpi.txt $(BUILD)/symbols-mpi.now || \
	  { echo "abi: libjacnet_mpi's exports differ from abi/symbols-mpi.txt"; exit 1; }
	@echo "abi: libjacnet_mpi exports the $$(wc -l < abi/symbols-mpi.txt) functions of abi/symbols-mpi.txt"
abi-update-mpi: $(MPI_SHARED)
	$(MPI_ABI_NM) > abi/symbols-mpi.txt

# ---- install ----
install-mpi: mpi
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir)
	install -m 644 include/jacnet_mpi.h $(DESTDIR)$(includedir)/jacnet_mpi.h
	install -m 755 $(MPI_SHARED) $(DESTDIR)$(libdir)/libjacnet_mpi.so.$(MPI_VERSION)
	ln -sf libjacnet_mpi.so.$(MPI_VERSION) $(DESTDIR)$(libdir)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $(DESTDIR)$(libdir)/libjacnet_mpi.so
	install -m 644 $(MPI_STATIC) $(DESTDIR)$(libdir)/libjacnet_mpi.a
	$(MPI_PC_SED) pkgconfig/jacnet-mpi.pc.in > $(DESTDIR)$(pkgconfigdir)/jacnet-mpi.pc

uninstall-mpi:
	rm -f $(DESTDIR)$(includedir)/jacnet_mpi.h $(DESTDIR)$(libdir)/libjacnet_mpi.so.$(MPI_VERSION) \
	      $(DESTDIR)$(libdir)/$(MPI_SONAME) $(DESTDIR)$(libdir)/libjacnet_mpi.so \
	      $(DESTDIR)$(libdir)/libjacnet_mpi.a $(DESTDIR)$(pkgconfigdir)/jacnet-mpi.pc

install-mpi-test: mpi
	scripts/install-mpi-test.sh

# ---- tests and example ----
MPI_TEST_SRCS := $(sort $(wildcard tests/mpi/*.c))
MPI_TEST_BINS := $(MPI_TEST_SRCS:tests/mpi/%.c=$(BUILD)/tests/mpi/%)

$(BUILD)/tests/mpi/%: tests/mpi/%.c tests/mpi/mpitest.h $(MPI_SHARED) include/jacnet_mpi.h
	@mkdir -p $(@D)
	$(MPICC) $(MPI_CFLAGS_ALL) -Itests/mpi $< -o $@ $(MPI_PROG_LIBS)

$(BUILD)/examples/mpi_train: examples/mpi_train.c $(MPI_SHARED) include/jacnet_mpi.h
	@mkdir -p $(@D)
	$(MPICC) $(MPI_CFLAGS_ALL) $< -o $@ $(MPI_PROG_LIBS)

# Root may start jobs only when it says so; 4 ranks on 2 cores need
# --oversubscribe. One BLAS thread per rank.
MPIRUN_FLAGS ?= --oversubscribe $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
check-mpi: mpi check-mpi-symbols $(MPI_TEST_BINS) $(BUILD)/examples/mpi_train $(BUILD)/bin/jacnet
	MPIRUN="$(MPIRUN) $(MPIRUN_FLAGS)" JACNET_THREADS=1 tests/mpi/run.sh $(BUILD)

examples-mpi: mpi $(BUILD)/examples/mpi_train
	JACNET_THREADS=1 $(MPIRUN) $(MPIRUN_FLAGS) -np 2 $(BUILD)/examples/mpi_train --quick

clean: clean-mpi
.PHONY: clean-mpi
clean-mpi:
	rm -f lib/libjacnet_mpi.* pkgconfig/jacnet-mpi.pc

# ---- timing for docs/SCALING.md (not part of any check) ----
$(BUILD)/bench/mpi_step: bench/mpi_step.c $(MPI_SHARED) include/jacnet_mpi.h
	@mkdir -p $(@D)
	$(MPICC) $(MPI_CFLAGS_ALL) $< -o $@ $(MPI_PROG_LIBS)

# 784-1000-10 and 784-1000-1000-10, exact and 1 projection, batch 100, on 1
# rank (1 and 2 BLAS threads) and 2 ranks (1 thread each).
.PHONY: bench-mpi
bench-mpi: mpi $(BUILD)/bench/mpi_step
	@for net in 784,1000,10 784,1000,1000,10; do for k in 0 1; do \
	  JACNET_THREADS=1 $(MPIRUN) $(MPIRUN_FLAGS) -np 1 $(BUILD)/bench/mpi_step --sizes $$net --projections $$k; \
	  JACNET_THREADS=2 $(MPIRUN) $(MPIRUN_FLAGS) -np 1 $(BUILD)/bench/mpi_step --sizes $$net --projections $$k \
	    | sed 's/ranks 1 /ranks 1x2thr/'; \
	  JACNET_THREADS=1 $(MPIRUN) $(MPIRUN_FLAGS) -np 2 $(BUILD)/bench/mpi_step --sizes $$net --projections $$k; \
	done; done
