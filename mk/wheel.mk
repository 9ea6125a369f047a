# mk/wheel.mk - the Python package as pip sees it (python/pyproject.toml).
#
#   make wheel        dist/jacnet-X.Y.Z-py3-none-linux_<arch>.whl: the package
#                     with its own copy of libjacnet.so.X inside (loaded before
#                     $JACNET_LIB and the system's), built offline with the
#                     system's setuptools and wheel (pip --no-build-isolation).
#                     The copy links the system's OpenBLAS and zlib, so the
#                     wheel is for machines like this one (not manylinux).
#   make wheel-test   scripts/wheel-test.sh: the wheel, and `pip install
#                     ./python` against a PREFIX install, each in a fresh venv
#                     with the oracle tests run against it; pip uninstall
#                     leaves nothing.
#   WHEEL_DIR=...     where the wheel goes (default dist).
#
# Needs (Debian): python3-pip python3-venv python3-setuptools python3-wheel
# python3-numpy, and python3-pytest for wheel-test.
.PHONY: wheel wheel-test

WHEEL_DIR ?= dist
WHEEL_STAGE := $(BUILD)/wheel

# The package is built from a staged copy (python/ and the header beside it,
# as in the tree), so the source tree gets no build/ or egg-info from it.
wheel: $(SHARED)
	@$(PYTHON) -c 'import setuptools, wheel, pip' 2>/dev/null || { \
	  echo "make wheel needs pip, setuptools and wheel for $(PYTHON)"; \
	  echo "  apt-get install python3-pip python3-setuptools python3-wheel"; exit 1; }
	rm -rf $(WHEEL_STAGE) && mkdir -p $(WHEEL_STAGE)/python $(WHEEL_STAGE)/include $(WHEEL_DIR)
	cp include/jacnet.h $(WHEEL_STAGE)/include/
	cp python/pyproject.toml python/setup.py python/README.md $(WHEEL_STAGE)/python/
	mkdir -p $(WHEEL_STAGE)/python/jacnet && cp python/jacnet/*.py python/jacnet/py.typed $(WHEEL_STAGE)/python/jacnet/
	rm -f $(WHEEL_DIR)/jacnet-$(VERSION)-*.whl
	cd $(WHEEL_STAGE)/python && JACNET_BUNDLE_LIB=$(CURDIR)/$(SHARED) \
	    $(PYTHON) -m pip wheel -q --no-build-isolation --no-deps --no-index -w $(abspath $(WHEEL_DIR)) .
	@ls $(WHEEL_DIR)/jacnet-$(VERSION)-*.whl

wheel-test: all
	PYTHON=$(PYTHON) scripts/wheel-test.sh
