# mk/tsan.mk - threads under ThreadSanitizer.
#   make check-tsan   rebuild the library and two tests in build/tsan with
#                     -fsanitize=thread and run them:
#                     tests/test_threads.c: 4 threads training distinct
#                     networks on distinct data, trainers sharing one const
#                     dataset and objective, const calls on one shared
#                     network, and jn_last_error per thread (what jacnet.h's
#                     "Threads" block allows), each compared bit for bit
#                     with the same work done serially;
#                     tests/test_collective.c: threads as the processes
#                     of one collective run (jn_trainer_set_collective),
#                     meeting in barrier sums and broadcasts;
#                     tests/test_pool_threads.c's "same results" case: the
#                     library's pool at 2 threads, its workers running the
#                     elementwise loops and the split products (cblas_sgemm,
#                     ssymm from two threads at once, the BLAS at one thread).
#                     Any data race fails the run (halt_on_error).
# OpenBLAS is not instrumented: its worker threads hand results over through
# its own spin-waits, which TSan cannot see and reports as races inside our
# buffers. The run therefore keeps OpenBLAS at one thread
# (OPENBLAS_NUM_THREADS=1, and jn_set_threads holds it there): each BLAS call
# then runs in the thread that made it, and every race TSan reports is one
# of ours. test_pool_threads' "BLAS threads" case, which sets OpenBLAS to 2
# threads, is left out. TSAN_CC=clang works too.
.PHONY: check-tsan tsan-run

TSAN_CC ?= $(CC)
TSAN_CFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
# One build directory per compiler: make would not rebuild objects for a new CC.
# LIB_CFLAGS is passed whole so that the Makefile's GCC-only vectoriser flags
# for a few objects (clang refuses them) stay out of this build.
TSAN_BUILD := build/tsan-$(notdir $(TSAN_CC))

check-tsan:
	OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" CK_FORK=no \
	$(MAKE) --no-print-directory tsan-run CC=$(TSAN_CC) BUILD=$(TSAN_BUILD) LIBOUT=$(TSAN_BUILD)/lib \
	    CFLAGS="$(TSAN_CFLAGS)" LDFLAGS="-fsanitize=thread" LIB_CFLAGS="$(LIB_CFLAGS)"

# Internal: only meaningful with the variables check-tsan passes.
tsan-run: $(BUILD)/tests/test_threads $(BUILD)/tests/test_pool_threads $(BUILD)/tests/test_collective
	./$(BUILD)/tests/test_threads
	./$(BUILD)/tests/test_collective
	CK_RUN_CASE="same results" ./$(BUILD)/tests/test_pool_threads
