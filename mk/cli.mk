# mk/cli.mk - the `jacnet` command-line tool (cli/*.c), on the public API
# only. Linked with the static library so the installed binary needs no
# rpath; installed to $(bindir) by make install.
bindir ?= $(exec_prefix)/bin
mandir ?= $(prefix)/share/man
CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:cli/%.c=$(BUILD)/cli/%.o)
CLI_BIN := $(BUILD)/bin/jacnet

all: $(CLI_BIN)

$(BUILD)/cli/%.o: cli/%.c cli/cli.h include/jacnet.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(WARN) -c $< -o $@

$(CLI_BIN): $(CLI_OBJS) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) -o $@ $(STATIC) $(DEP_LIBS)

.PHONY: install-cli uninstall-cli
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
