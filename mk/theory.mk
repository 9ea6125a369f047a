# mk/theory.mk - the Hessian tests' shared double-precision reference and the
# report's Taylor-expansion checks (docs/THEORY.md).
#
#   make theory     the full Monte Carlo checks (scripts/theory_checks.py,
#                   float64 numpy, a few minutes): docs/results/theory_checks.md
#                   and docs/figures/theory_mc.png
#   make curvature MODELS="a.jn b.jn" [CURVATURE_ARGS=...]
#                   mean ||J_F||^2 and ||H_F||^2 of models over a test set
#                   (scripts/curvature_table.py; USPS from $JACNET_DATA by default)
#
# test_hessian, test_theory and test_input_gradient link tests/refnet.c besides testutil; these
# explicit rules take the place of the generic test rule for them.

REFNET_OBJ := $(BUILD)/tests/refnet.o
REFNET_TESTS := $(BUILD)/tests/test_hessian $(BUILD)/tests/test_theory $(BUILD)/tests/test_input_gradient

$(REFNET_OBJ): tests/refnet.c tests/refnet.h include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Itests $(WARN) $(CHECK_CFLAGS) -c $< -o $@

$(REFNET_TESTS): $(BUILD)/tests/%: tests/%.c $(TEST_UTIL) $(REFNET_OBJ) $(STATIC) $(TEST_HEADERS) tests/refnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Itests $(WARN) $(CHECK_CFLAGS) \
	    $< $(TEST_UTIL) $(REFNET_OBJ) -o $@ $(STATIC) $(CHECK_LIBS) $(DEP_LIBS)

.PHONY: theory curvature
PY_RUN = JACNET_LIB=$(CURDIR)/$(SHARED) PYTHONPATH=$(CURDIR)/python $(PYTHON)

theory: $(SHARED)
	@mkdir -p docs/results docs/figures
	$(PY_RUN) scripts/theory_checks.py --plot docs/figures/theory_mc.png > docs/results/theory_checks.md
	@echo "wrote docs/results/theory_checks.md and docs/figures/theory_mc.png"

CURVATURE_ARGS ?=
curvature: $(SHARED)
	@test -n "$(MODELS)" || { echo 'usage: make curvature MODELS="model1.jn model2.jn ..." [CURVATURE_ARGS="--data DIR ..."]'; exit 2; }
	$(PY_RUN) scripts/curvature_table.py $(CURVATURE_ARGS) $(MODELS)
