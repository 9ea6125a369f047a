# mk/oom.mk - running out of memory, allocation by allocation.
#   make check-oom   rebuild the library in build/oom with -DJN_FAULT_INJECTION
#                    (src/base/fault.h: the k-th allocation can be made to fail)
#                    and AddressSanitizer + LeakSanitizer, then run
#                    tests/oom/test_oom.c: every allocation of every public
#                    constructor, loader, evaluation, objective, optimizer
#                    step, trainer run and model save/load fails in turn and
#                    must give JN_ERR_NOMEM, no leak, and unchanged handles.
# The release library (build/, lib/) never contains the hook; check-symbols
# and check-abi look only at that one.
.PHONY: check-oom oom-run

OOM_CFLAGS := -O1 -g -fsanitize=address -fno-omit-frame-pointer -DJN_FAULT_INJECTION

check-oom:
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory oom-run BUILD=build/oom LIBOUT=build/oom/lib \
	    CFLAGS="$(OOM_CFLAGS)" LDFLAGS="-fsanitize=address"

# Internal: only meaningful with the variables check-oom passes.
oom-run: $(BUILD)/oom-tests/test_oom
	./$(BUILD)/oom-tests/test_oom

$(BUILD)/oom-tests/test_oom: tests/oom/test_oom.c $(TEST_UTIL) $(STATIC) $(TEST_HEADERS) src/base/fault.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Itests -Isrc $(WARN) $(CHECK_CFLAGS) \
	    $< $(TEST_UTIL) -o $@ $(STATIC) $(CHECK_LIBS) $(DEP_LIBS)
