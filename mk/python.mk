# mk/python.mk - the Python binding (python/jacnet), its install rules, the
# Python examples and the ABI guard. Included by the Makefile; uses its
# variables (SHARED, SONAME, VERSION, DESTDIR, libdir, BUILD...).
#
#   make install-python / uninstall-python
#        python/jacnet -> $(DESTDIR)$(PYTHONDIR)/jacnet. PYTHONDIR lies under
#        $(prefix), so nothing is written outside PREFIX/DESTDIR: it is
#        $(PYTHON)'s purelib when that is in $(prefix)/lib (the default
#        PREFIX=/usr/local on Debian: /usr/local/lib/python3.X/dist-packages),
#        else $(prefix)/lib/python3/dist-packages (Debian's directory for
#        PREFIX=/usr; for other prefixes the install says to add it to
#        PYTHONPATH when $(PYTHON) does not search it).
#        The installed package records $(libdir)/$(SONAME) in
#        jacnet/_paths.py so it finds the installed library without
#        LD_LIBRARY_PATH, and jacnet/_version.py (the header's version,
#        checked against the library at import).
#        `make install` / `make uninstall` run these too when $(PYTHON) can
#        import numpy, and say so either way; WITH_PYTHON=no skips them,
#        WITH_PYTHON=yes makes a missing Python an error. The C library,
#        header, pkg-config, CMake and man files never need Python.
#   make check-abi       abi/symbols.txt against `nm -D` of the built library
#                        (docs/ABI.md); part of `make check`.
#   make abi-update      rewrite abi/symbols.txt from the built library.
#   make examples-python build/examples/own_loop --quick and
#                        examples/python/train.py --quick (needs MNIST:
#                        $JACNET_DATA or ./data, see `make data`).
#   make install-python-test   scripts/install-python-test.sh

PYTHON ?= /usr/bin/python3
# Deferred (=) so python3 runs only when an install rule needs it.
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sys, sysconfig; p = sysconfig.get_path("purelib"); \
    print(p if p.startswith(sys.argv[1] + "/lib/") else sys.argv[1] + "/lib/python3/dist-packages")' \
    '$(patsubst %/,%,$(prefix))' 2>/dev/null)
PY_SRCS := $(sort $(wildcard python/jacnet/*.py))

.PHONY: install-python uninstall-python install-python-auto uninstall-python-auto check-abi abi-update \
        examples-python install-python-test

install: install-python-auto
uninstall: uninstall-python-auto
check-all: check-abi

WITH_PYTHON ?= auto
# Whether $(PYTHON) is usable for the package: it runs and has numpy.
PYTHON_USABLE = $(PYTHON) -c 'import numpy' >/dev/null 2>&1

install-python-auto uninstall-python-auto: %-python-auto:
	@case "$(WITH_PYTHON)" in \
	  no) echo "$*: Python package skipped (WITH_PYTHON=no)";; \
	  yes) $(MAKE) --no-print-directory $*-python;; \
	  *) if $(PYTHON_USABLE); then $(MAKE) --no-print-directory $*-python; \
	     else echo "$*: Python package skipped: no $(PYTHON) with numpy (apt-get install python3-numpy, or"; \
	          echo "  make $*-python PYTHON=/path/to/python3); the rest does not need Python"; fi;; \
	 esac

install-python:
	@test -n "$(PYTHONDIR)" || { echo "PYTHONDIR is empty (is $(PYTHON) there?); pass PYTHONDIR=..."; exit 1; }
	install -d $(DESTDIR)$(PYTHONDIR)/jacnet
	install -m 644 $(PY_SRCS) python/jacnet/py.typed $(DESTDIR)$(PYTHONDIR)/jacnet/
	printf '# Written by make install-python.\nINSTALLED_LIBRARY = %s\n' \
	    "'$(libdir)/$(SONAME)'" > $(DESTDIR)$(PYTHONDIR)/jacnet/_paths.py
	printf '# Written by make install-python from jacnet.h.\nVERSION = (%s, %s, %s)\n' \
	    $(VERSION_MAJOR) $(VERSION_MINOR) $(VERSION_PATCH) > $(DESTDIR)$(PYTHONDIR)/jacnet/_version.py
	@echo "install: Python package in $(DESTDIR)$(PYTHONDIR)/jacnet"
	@if [ -z "$(DESTDIR)" ] && ! $(PYTHON) -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' '$(PYTHONDIR)'; then \
	  echo "  $(PYTHON) does not search $(PYTHONDIR): export PYTHONPATH=$(PYTHONDIR)"; fi

# The package directory is ours alone: it also holds the __pycache__ that
# importing the installed package may have written.
uninstall-python:
	@test -n "$(PYTHONDIR)" || { echo "PYTHONDIR is empty (is $(PYTHON) there?); pass PYTHONDIR=..."; exit 1; }
	rm -rf $(DESTDIR)$(PYTHONDIR)/jacnet

# ---- ABI guard: the exported jn_ symbols must match abi/symbols.txt ----
ABI_NM = nm -D --defined-only $(SHARED) | awk '$$3 ~ /^jn_/ {print $$3}' | LC_ALL=C sort

check-abi: $(SHARED)
	@$(ABI_NM) > $(BUILD)/symbols.now
	@if diff -u abi/symbols.txt $(BUILD)/symbols.now; then \
	   echo "abi: $$(wc -l < abi/symbols.txt) exported symbols match abi/symbols.txt"; \
	 else \
	   echo "abi: exported symbols differ from abi/symbols.txt (- listed, + exported); see docs/ABI.md"; exit 1; \
	 fi

abi-update: $(SHARED)
	$(ABI_NM) > abi/symbols.txt

# ---- examples ----
examples-python: all $(BUILD)/examples/own_loop
	$(BUILD)/examples/own_loop --quick $(JACNET_DATA)
	JACNET_LIB=$(CURDIR)/$(SHARED) PYTHONPATH=$(CURDIR)/python $(PYTHON) examples/python/train.py --quick \
	    --data $(JACNET_DATA)

install-python-test: all
	scripts/install-python-test.sh
