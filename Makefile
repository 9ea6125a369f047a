# libjacnet - GNU make build.
#   make                 libraries into lib/
#   make check           build and run the unit tests (JACNET_DATA enables real-data tests)
#   make check-asan      the same tests under AddressSanitizer + UBSan
#   make check-valgrind  the same tests under valgrind (CK_FORK=no)
#   make install / uninstall   PREFIX, DESTDIR, libdir, includedir, pkgconfigdir
#   make BLAS=reference  link Debian's reference CBLAS (libblas-dev) instead of OpenBLAS
#   BLAS_CFLAGS=... BLAS_LIBS=...   use any other CBLAS

# ---- version, read once from the header ----
VERSION_MAJOR := $(shell sed -n 's/^\#define JN_VERSION_MAJOR \([0-9]*\)/\1/p' include/jacnet.h)
VERSION_MINOR := $(shell sed -n 's/^\#define JN_VERSION_MINOR \([0-9]*\)/\1/p' include/jacnet.h)
VERSION_PATCH := $(shell sed -n 's/^\#define JN_VERSION_PATCH \([0-9]*\)/\1/p' include/jacnet.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := libjacnet.so.$(VERSION_MAJOR)

# ---- install locations ----
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
libdir ?= $(exec_prefix)/lib
includedir ?= $(prefix)/include
pkgconfigdir ?= $(libdir)/pkgconfig
DESTDIR ?=

# ---- toolchain ----
CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
LIB_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden -Iinclude -Isrc $(WARN)
BUILD ?= build
LIBOUT ?= lib

# ---- BLAS: user's flags, else BLAS=reference, else probe pkg-config ----
ifeq ($(BLAS),reference)
  REF_BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/blas
  BLAS_CFLAGS ?=
  BLAS_LIBS ?= -L$(REF_BLAS_DIR) -Wl,-rpath,$(REF_BLAS_DIR) -lblas
endif
ifeq ($(origin BLAS_LIBS),undefined)
  BLAS_PC := $(firstword $(foreach p,openblas cblas blas,$(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo $(p))))
  ifneq ($(BLAS_PC),)
    BLAS_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(BLAS_PC))
    BLAS_LIBS := $(shell $(PKG_CONFIG) --libs $(BLAS_PC))
  else
    BLAS_LIBS := -lopenblas
  endif
endif
ZLIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags zlib 2>/dev/null)
ZLIB_LIBS := $(or $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null),-lz)
ZLIB_PC := $(shell $(PKG_CONFIG) --exists zlib 2>/dev/null && echo zlib)
DEP_LIBS := $(BLAS_LIBS) $(ZLIB_LIBS) -lm -lpthread
# jacnet.pc: dependencies with a .pc of their own go to Requires.private, so
# `pkg-config --static` reads their flags from their own files (and applies
# PKG_CONFIG_SYSROOT_DIR to them); only flags without a .pc (BLAS=reference,
# BLAS_LIBS=..., a zlib without zlib.pc) are written into Libs.private.
PC_REQUIRES_PRIVATE := $(strip $(BLAS_PC) $(ZLIB_PC))
PC_LIBS_PRIVATE := $(strip $(if $(BLAS_PC),,$(BLAS_LIBS)) $(if $(ZLIB_PC),,$(ZLIB_LIBS)) -lm -lpthread)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)

# ---- sources ----
# src/ has one folder per unit of the design (docs/ARCHITECTURE.md); object
# files keep flat names (every source's name is unique), found through vpath.
SRCS := $(sort $(wildcard src/*/*.c))
OBJS := $(addprefix $(BUILD)/obj/,$(notdir $(SRCS:.c=.o)))
LIB_HEADERS := $(wildcard src/*/*.h)
vpath %.c $(sort $(dir $(SRCS)))
SHARED := $(LIBOUT)/libjacnet.so.$(VERSION)
STATIC := $(LIBOUT)/libjacnet.a
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL := $(BUILD)/tests/testutil.o $(BUILD)/tests/fixtures.o
TEST_HEADERS := tests/testutil.h tests/fixtures.h

.PHONY: all check check-all check-c check-asan check-valgrind check-symbols check-python blas-probe \
        install uninstall clean examples bench demo data fuzz
all: blas-probe $(SHARED) $(STATIC) pkgconfig/jacnet.pc

# Confirm the BLAS flags link cblas_sgemm before building anything with them.
blas-probe: $(BUILD)/blas-ok
$(BUILD)/blas-ok: Makefile
	@mkdir -p $(BUILD)
	@printf '#include <cblas.h>\nint main(void){float a=1,b=1,c=0;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1.f,&a,1,&b,1,0.f,&c,1);return c!=1.f;}\n' > $(BUILD)/blas-probe.c
	@$(CC) $(BLAS_CFLAGS) $(BUILD)/blas-probe.c -o $(BUILD)/blas-probe $(BLAS_LIBS) -lm || \
	  { echo "error: cannot link cblas_sgemm with BLAS_LIBS='$(BLAS_LIBS)'."; \
	    echo "  Install OpenBLAS (apt-get install libopenblas-dev) or pass BLAS_CFLAGS/BLAS_LIBS."; exit 1; }
	@$(BUILD)/blas-probe || { echo "error: cblas_sgemm gave a wrong result"; exit 1; }
	@echo "BLAS: $(BLAS_LIBS)" && touch $@

$(BUILD)/obj/%.o: %.c $(LIB_HEADERS) include/jacnet.h | $(BUILD)/blas-ok
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) $(BLAS_CFLAGS) $(ZLIB_CFLAGS) -c $< -o $@

# The activation kernels, and the penalty's element-wise passes with their
# bfloat16 conversions, are straight-line loops meant to become SIMD code;
# these flags let GCC if-convert and vectorise them without changing any
# result (no fast-math: IEEE semantics and NaN handling stay as written).
$(BUILD)/obj/activation.o $(BUILD)/obj/alloc.o $(BUILD)/obj/optimizer.o $(BUILD)/obj/gauss.o \
$(BUILD)/obj/products.o $(BUILD)/obj/jacobian.o $(BUILD)/obj/penalty.o: LIB_CFLAGS += -fno-trapping-math -fno-math-errno \
    -fvect-cost-model=dynamic

$(SHARED): $(OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $(OBJS) $(DEP_LIBS)
	ln -sf libjacnet.so.$(VERSION) $(LIBOUT)/$(SONAME)
	ln -sf $(SONAME) $(LIBOUT)/libjacnet.so

$(STATIC): $(OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(OBJS)

# libdir and includedir are written relative to ${prefix} when they lie under
# it, so `pkg-config --define-prefix` / --define-variable=prefix=... relocate.
PC_SED = sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(patsubst $(prefix)/%,$${prefix}/%,$(libdir))|' \
	    -e 's|@includedir@|$(patsubst $(prefix)/%,$${prefix}/%,$(includedir))|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES_PRIVATE@|$(PC_REQUIRES_PRIVATE)|' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|'
pkgconfig/jacnet.pc: pkgconfig/jacnet.pc.in include/jacnet.h Makefile
	$(PC_SED) $< > $@

# ---- tests: each tests/test_*.c is one Check program, linked statically ----
$(TEST_UTIL): $(BUILD)/tests/%.o: tests/%.c $(TEST_HEADERS) include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Itests -Isrc $(WARN) $(CHECK_CFLAGS) \
	    -DJN_TEST_ORACLE_DIR='"$(CURDIR)/tests/oracle"' -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_UTIL) $(STATIC) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Itests -Isrc $(WARN) $(CHECK_CFLAGS) \
	    $< $(TEST_UTIL) -o $@ $(STATIC) $(CHECK_LIBS) $(DEP_LIBS)

JACNET_ORACLE ?= $(CURDIR)/tests/oracle
export JACNET_ORACLE
# Check's timeouts only catch hangs; on a loaded shared machine its 4 s
# default failed a correct test, so every test case gets a minute.
CK_DEFAULT_TIMEOUT ?= 60
export CK_DEFAULT_TIMEOUT

# `make check` first installs (as root) or names missing dependencies, then
# re-reads this Makefile so the probes above see them.
check:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory check-all

check-all: all check-symbols check-c
	@$(MAKE) --no-print-directory check-python

# Only jn_ symbols may leave the shared library.
check-symbols: $(SHARED)
	@bad=$$(nm -D --defined-only $(SHARED) | awk '{print $$3}' | grep -v '^jn_' | grep -v '^_' ); \
	 if [ -n "$$bad" ]; then echo "non-jn_ symbols exported:"; echo "$$bad"; exit 1; fi; \
	 echo "symbols: only jn_ exported ($$(nm -D --defined-only $(SHARED) | grep -c ' T jn_') functions)"

check-python:
	@if [ -d python/tests ]; then \
	  if /usr/bin/python3 -c 'import numpy, pytest' 2>/dev/null; then \
	    JACNET_LIB=$(CURDIR)/$(SHARED) JACNET_CLI=$(CURDIR)/$(BUILD)/bin/jacnet PYTHONPATH=$(CURDIR)/python /usr/bin/python3 -m pytest -q python/tests; \
	  else echo "python tests need python3-numpy and python3-pytest (apt-get install python3-numpy python3-pytest)"; exit 1; fi; \
	fi

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check-asan:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(MAKE) --no-print-directory check-c BUILD=build/asan LIBOUT=build/asan/lib \
	    CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined"

check-valgrind:
	CK_FORK=no $(MAKE) --no-print-directory check-c BUILD=build/valgrind LIBOUT=build/valgrind/lib \
	    TEST_WRAP="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"

# The C tests alone (used by the sanitizer and valgrind runs).
check-c: $(SHARED) $(STATIC) $(TEST_BINS)
	@fail=0; for t in $(TEST_BINS); do echo "== $$t"; $(TEST_WRAP) ./$$t || fail=1; done; \
	 if [ $$fail = 0 ]; then echo "all tests passed"; else echo "TESTS FAILED"; exit 1; fi

# ---- install ----
# Installing as root into a directory the loader searches (/usr/local/lib,
# /usr/lib...) refreshes its cache, so programs find libjacnet.so.0 at once.
# Any other libdir, or a staged install (DESTDIR), leaves the cache alone
# (/etc/ld.so.cache lies outside PREFIX), and a live install there says how
# programs find the library (README.md, "Running a program built against
# it").
LDCONFIG := $(shell PATH="$$PATH:/sbin:/usr/sbin" command -v ldconfig 2>/dev/null)
LOADER_SEARCHES_LIBDIR = $(LDCONFIG) -v -N -X 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p' | \
	xargs -r realpath -m | grep -qxF "$$(realpath -m $(libdir))"
LDCONFIG_IF_LIVE = if [ -z "$(DESTDIR)" ] && [ -n "$(LDCONFIG)" ]; then \
	  if $(LOADER_SEARCHES_LIBDIR); then [ "$$(id -u)" != 0 ] || $(LDCONFIG); \
	  elif [ "$@" = install ]; then echo "install: the dynamic loader does not search $(libdir): build programs"; \
	    echo "  with -Wl,-rpath,$(libdir) or run them with LD_LIBRARY_PATH=$(libdir)"; fi; fi
install: all
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir)
	install -m 644 include/jacnet.h $(DESTDIR)$(includedir)/jacnet.h
	install -m 755 $(SHARED) $(DESTDIR)$(libdir)/libjacnet.so.$(VERSION)
	ln -sf libjacnet.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libjacnet.so
	install -m 644 $(STATIC) $(DESTDIR)$(libdir)/libjacnet.a
	$(PC_SED) pkgconfig/jacnet.pc.in > $(DESTDIR)$(pkgconfigdir)/jacnet.pc
	@$(LDCONFIG_IF_LIVE)

uninstall:
	rm -f $(DESTDIR)$(includedir)/jacnet.h $(DESTDIR)$(libdir)/libjacnet.so.$(VERSION) \
	      $(DESTDIR)$(libdir)/$(SONAME) $(DESTDIR)$(libdir)/libjacnet.so \
	      $(DESTDIR)$(libdir)/libjacnet.a $(DESTDIR)$(pkgconfigdir)/jacnet.pc
	@$(LDCONFIG_IF_LIVE)

clean:
	rm -rf build lib/libjacnet.* pkgconfig/jacnet.pc

-include mk/*.mk
