# mk/cli.mk - the `jacnet` command-line tool (cli/*.c), on the public API
# only. Linked with the static library so the installed binary needs no
# rpath; installed to $(bindir) by make install.
bindir ?= $(exec_prefix)/bin
mandir ?= $(prefix)/share/man
#
# When mk/mpi.mk builds libjacnet_mpi (MPI_BUILD), the tool is compiled with
# $(MPICC) -DJACNET_WITH_MPI and also linked with libjacnet_mpi.a, which
# gives it `--mpi` (cli/mpi.c); otherwise cli/mpi.c only refuses `--mpi`.
# These settings are recursive (=) because mk/mpi.mk, which decides
# MPI_BUILD, is read after this file; $(BUILD)/cli/mode records the last
# choice so that switching MPI=0/1 recompiles and relinks the tool.
# JACNET_PYTHON_DEFAULT: the python3 `train --plot` tries first (PYTHON,
# the one make install-python installs the package for; cli/plot.c).
CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o)
CLI_BIN := $(BUILD)/bin/jacnet
CLI_MODE = $(if $(MPI_BUILD),mpi,serial)
CLI_CC = $(if $(MPI_BUILD),$(MPICC),$(CC))
CLI_DEFS = $(if $(MPI_BUILD),-DJACNET_WITH_MPI) -DJACNET_PYTHON_DEFAULT='"$(PYTHON)"'
CLI_LIBS = $(if $(MPI_BUILD),$(MPI_STATIC)) $(STATIC)

all: $(CLI_BIN)

$(BUILD)/cli/mode: FORCE
	@mkdir -p $(@D)
	@echo '$(CLI_MODE)' | cmp -s - $@ || echo '$(CLI_MODE)' > $@

$(BUILD)/cli/%.o: cli/%.c cli/cli.h include/jacnet.h $(BUILD)/cli/mode
	@mkdir -p $(@D)
	$(CLI_CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(CLI_DEFS) $(WARN) -c $< -o $@

# mk/mpi.mk adds $(MPI_STATIC) to the prerequisites in an MPI build.
$(CLI_BIN): $(CLI_OBJS) $(STATIC) $(BUILD)/cli/mode
	@mkdir -p $(@D)
	$(CLI_CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) -o $@ $(CLI_LIBS) $(DEP_LIBS)

.PHONY: install-cli uninstall-cli FORCE
FORCE:
install: install-cli
uninstall: uninstall-cli
install-cli: $(CLI_BIN)
	install -d $(DESTDIR)$(bindir)
	install -m 755 $(CLI_BIN) $(DESTDIR)$(bindir)/jacnet
	install -d $(DESTDIR)$(mandir)/man1
	install -m 644 man/jacnet.1 $(DESTDIR)$(mandir)/man1/jacnet.1
uninstall-cli:
	rm -f $(DESTDIR)$(bindir)/jacnet $(DESTDIR)$(mandir)/man1/jacnet.1

# Table 1, USPS column: retrain the five selected models (seed 1) into a
# scratch folder and print the test errors beside the committed ones.
.PHONY: reproduce-usps table1
reproduce-usps: $(CLI_BIN)
	rm -rf $(BUILD)/reproduce-usps
	$(PYTHON) scripts/repro/final.py --dataset usps --sweep docs/results/usps/sweep \
	    --out $(BUILD)/reproduce-usps --seeds 1 --retrain --compare docs/results/usps/final --jacnet $(CLI_BIN)
table1:
	$(PYTHON) scripts/repro/table1.py

# Table 1 retrained: all 15 cells with their committed settings (seed 1),
# two runs at a time, checkpointed (run again to resume), each test error
# printed beside the committed one (scripts/repro/table1_retrain.py).
# TABLE1_PRECISION=fp32|bf16|auto (default auto: bfloat16 where measured faster).
.PHONY: table1-retrain
TABLE1_PRECISION ?= auto
table1-retrain: $(CLI_BIN)
	$(PYTHON) scripts/repro/table1_retrain.py --out $(BUILD)/table1-retrain --jobs 2 \
	    --precision $(TABLE1_PRECISION) --jacnet $(CLI_BIN)
