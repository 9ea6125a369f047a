# mk/header.mk - jacnet.h for every compiler a user may bring (part of make check).
#
#   make check-header   tests/header/header_check.c compiled as C99, C11 and
#                       C17 (-pedantic) by cc and clang, and as C++11 and
#                       C++17 by g++ and clang++ (-Wall -Wextra -pedantic), all
#                       with -Werror; then examples/cpp/hello.cpp built with
#                       the C++ compiler against lib/ and run. A compiler that
#                       is not installed is reported and skipped (CI has all).
.PHONY: check-header
check-all: check-header

HEADER_WARN := -Wall -Wextra -pedantic -Werror -Wundef -Wshadow
HEADER_C_WARN := $(HEADER_WARN) -Wstrict-prototypes -Wmissing-prototypes
HEADER_C_COMPILERS := $(CC) clang
HEADER_CXX_COMPILERS := g++ clang++
CXX ?= g++

check-header: $(SHARED)
	@mkdir -p $(BUILD)/header
	@for c in $(HEADER_C_COMPILERS); do \
	  if ! command -v $$c >/dev/null 2>&1; then echo "check-header: $$c not installed, skipped"; continue; fi; \
	  for std in c99 c11 c17; do \
	    $$c -std=$$std $(HEADER_C_WARN) -Iinclude -c tests/header/header_check.c -o $(BUILD)/header/check.o \
	      || { echo "check-header: jacnet.h fails as $$std with $$c"; exit 1; }; \
	  done; echo "check-header: C99, C11, C17 clean with $$c"; \
	done
	@cp tests/header/header_check.c $(BUILD)/header/header_check.cpp
	@for c in $(HEADER_CXX_COMPILERS); do \
	  if ! command -v $$c >/dev/null 2>&1; then echo "check-header: $$c not installed, skipped"; continue; fi; \
	  for std in c++11 c++17; do \
	    $$c -std=$$std $(HEADER_WARN) -Iinclude -c $(BUILD)/header/header_check.cpp -o $(BUILD)/header/check.o \
	      || { echo "check-header: jacnet.h fails as $$std with $$c"; exit 1; }; \
	  done; echo "check-header: C++11, C++17 clean with $$c"; \
	done
	$(CXX) -std=c++11 $(HEADER_WARN) -Iinclude examples/cpp/hello.cpp -o $(BUILD)/header/hello_cpp \
	    -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet
	$(BUILD)/header/hello_cpp
