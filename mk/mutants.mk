# mk/mutants.mk - mutation testing (docs/TESTING.md).
#   make mutants          plant each one-line bug of tests/mutants.txt in a
#                         scratch copy of the tree, build, run the C test
#                         programs, print the kill table; fails when a mutant
#                         survives without an `equivalent:` explanation
#   make mutants-list     check that every mutant's line is still in src/
#   MUTANTS_ARGS=...      e.g. --only trainer-shuffle-first-epoch,gauss-negated-half
# The working tree is never modified. One job. Measured: 51 mutants in 19.4 min
# on a shared 2-core machine at load ~10 (9.8 min of CPU); after the
# checkpoint/pool/bf16/Hessian merges 40 of the 78 in 18.2 min at load ~7 (a full run: ~25-30 min);
# docs/TESTING.md.
.PHONY: mutants mutants-list mutants-build mutants-lib

mutants:
	@/usr/bin/python3 scripts/mutants.py $(MUTANTS_ARGS)

mutants-list:
	@/usr/bin/python3 scripts/mutants.py --list

# What the harness builds in its scratch copy for every mutant.
mutants-build: $(STATIC) $(TEST_BINS)
mutants-lib: $(STATIC)
