# mk/cmake.mk - find_package(jacnet) support for CMake projects.
#
#   make install        also writes $(cmakedir)/jacnetConfig.cmake and
#                       jacnetConfigVersion.cmake (cmakedir defaults to
#                       $(libdir)/cmake/jacnet), from cmake/*.cmake.in;
#                       make uninstall removes them.
#   make cmake-consumer-test   scripts/cmake-consumer-test.sh: the project in
#                       tests/consumers/cmake configured, built and run against
#                       a DESTDIR install, then against the same install moved
#                       elsewhere (needs Debian's cmake).
#
# The archive refers to oneDNN weakly (src/backend/dnnl.c), so jacnet::jacnet_static
# names it inside --no-as-needed: a weak reference alone would let
# --as-needed drop it (and bfloat16 with it).
#
# The config file finds the prefix from its own location (one ../ per
# directory of $(cmakedir) below $(prefix)), so it relocates with the whole
# install. A libdir or includedir outside $(prefix) is written as an
# absolute path, and then only the rest moves.
.PHONY: install-cmake uninstall-cmake cmake-consumer-test

cmakedir ?= $(libdir)/cmake/jacnet
install: install-cmake
uninstall: uninstall-cmake

# Path of dir relative to $(prefix) as seen from the config file: the prefix
# variable plus the tail, or dir itself when it is not under $(prefix).
cmake_from_prefix = $(if $(filter $(prefix)/%,$(1)),$${_jacnet_prefix}/$(patsubst $(prefix)/%,%,$(1)),$(1))
CMAKE_UP := $(if $(filter $(prefix)/%,$(cmakedir)),$(patsubst %,..,$(subst /, ,$(patsubst $(prefix)/%,%,$(cmakedir)))),.)
CMAKE_SIZEOF_VOID_P := $(shell $(CC) -dM -E - </dev/null 2>/dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')
CMAKE_DNNL_LIST = "-Wl,--push-state,--no-as-needed" $(foreach f,$(DNNL_LIBS),"$(f)") "-Wl,--pop-state"
CMAKE_SED = sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
	-e 's|@PREFIX_FROM_CONFIG@|$(subst $(eval) ,/,$(CMAKE_UP))|' \
	-e 's|@CONFIG_LIBDIR@|$(call cmake_from_prefix,$(libdir))|' \
	-e 's|@CONFIG_INCLUDEDIR@|$(call cmake_from_prefix,$(includedir))|' \
	-e 's|@BLAS_PC@|$(BLAS_PC)|' -e 's|@BLAS_LIBS_LIST@|$(foreach f,$(BLAS_LIBS),"$(f)")|' \
	-e 's|@DNNL_LIBS_LIST@|$(if $(filter 1,$(DNNL)),$(CMAKE_DNNL_LIST))|' \
	-e 's|@SIZEOF_VOID_P@|$(or $(CMAKE_SIZEOF_VOID_P),8)|g'

install-cmake:
	install -d $(DESTDIR)$(cmakedir)
	$(CMAKE_SED) cmake/jacnetConfig.cmake.in > $(DESTDIR)$(cmakedir)/jacnetConfig.cmake
	$(CMAKE_SED) cmake/jacnetConfigVersion.cmake.in > $(DESTDIR)$(cmakedir)/jacnetConfigVersion.cmake

# The directories go too when nothing else is in them.
uninstall-cmake:
	rm -f $(DESTDIR)$(cmakedir)/jacnetConfig.cmake $(DESTDIR)$(cmakedir)/jacnetConfigVersion.cmake
	-rmdir $(DESTDIR)$(cmakedir) 2>/dev/null || true

cmake-consumer-test: all
	scripts/cmake-consumer-test.sh
