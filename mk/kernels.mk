# mk/kernels.mk - the kernel matrix.
#   make check-kernels   the thread-count, resume and trainer-loop tests under
#                        every OpenBLAS kernel this CPU can execute
#                        (OPENBLAS_CORETYPE; the list printed, decided from
#                        the CPU flags), then on the reference CBLAS
#                        (scripts/check-kernels.sh says why).
.PHONY: check-kernels
KERNEL_TESTS := test_blas_threads test_pool_threads test_checkpoint test_trainer_loop
check-kernels: all $(KERNEL_TESTS:%=$(BUILD)/tests/%) $(BUILD)/bin/jacnet
	@$(MAKE) --no-print-directory BLAS=reference BUILD=build/ref LIBOUT=build/ref/lib \
	    $(KERNEL_TESTS:%=build/ref/tests/%)
	scripts/check-kernels.sh $(BUILD) $(LIBOUT) build/ref
