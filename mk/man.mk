# mk/man.mk - manual pages in man/ (man/<name>.<section>).
#
#   make install        also installs every man/*.3 into $(mandir)/man3 and
#                       every man/*.1 into $(mandir)/man1 (a page added to
#                       man/, such as jacnet.1, needs no change here);
#                       make uninstall removes them.
#   make check-man      (part of make check) each page formatted by groff
#                       (-ww) and by `man --warnings -l` at 80 columns with no
#                       warning at all, and libjacnet(3)'s EXAMPLE program
#                       extracted, compiled (-Werror) and run.
.PHONY: install-man uninstall-man check-man
check-all: check-man

mandir ?= $(prefix)/share/man
MAN_PAGES := $(sort $(wildcard man/*.[1-8]))
MAN_SECTIONS := $(sort $(foreach p,$(MAN_PAGES),$(subst .,,$(suffix $(p)))))
install: install-man
uninstall: uninstall-man

install-man:
	@for s in $(MAN_SECTIONS); do \
	  echo "install -d $(DESTDIR)$(mandir)/man$$s"; install -d $(DESTDIR)$(mandir)/man$$s || exit 1; \
	  for p in man/*.$$s; do echo "install -m 644 $$p $(DESTDIR)$(mandir)/man$$s/"; \
	    install -m 644 $$p $(DESTDIR)$(mandir)/man$$s/ || exit 1; done; \
	done

uninstall-man:
	@for p in $(MAN_PAGES); do s=$${p##*.}; echo "rm -f $(DESTDIR)$(mandir)/man$$s/$${p#man/}"; \
	  rm -f $(DESTDIR)$(mandir)/man$$s/$${p#man/}; done

# The example between the `example-begin` and `example-end` comments, with
# the roff escapes it uses (\e, \-, \(aq) turned back into C.
MAN_EXAMPLE := $(BUILD)/man/libjacnet_example
$(MAN_EXAMPLE).c: man/libjacnet.3
	@mkdir -p $(@D)
	sed -n '/^\.\\" example-begin/,/^\.\\" example-end/p' $< | sed -e '1d' -e '$$d' \
	    -e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" > $@
	@test -s $@ || { echo "check-man: no example between example-begin and example-end in $<"; exit 1; }

$(MAN_EXAMPLE): $(MAN_EXAMPLE).c $(SHARED) include/jacnet.h
	$(CC) -std=c11 $(WARN) -Werror -Iinclude $< -o $@ -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(LIBOUT) -ljacnet

check-man: $(MAN_EXAMPLE)
	@command -v groff >/dev/null && command -v man >/dev/null || { \
	  echo "check-man needs groff and man-db (apt-get install groff man-db)"; exit 1; }
	@mkdir -p $(BUILD)/man
	@for p in $(MAN_PAGES); do \
	  groff -man -Tutf8 -ww -z $$p 2> $(BUILD)/man/groff.err; \
	  MANWIDTH=80 MANPAGER=cat LC_ALL=C.UTF-8 man --warnings -l $$p 2> $(BUILD)/man/man.err > $(BUILD)/man/page.txt; \
	  if [ -s $(BUILD)/man/groff.err ] || [ -s $(BUILD)/man/man.err ]; then \
	    cat $(BUILD)/man/groff.err $(BUILD)/man/man.err; echo "check-man: warnings in $$p"; exit 1; fi; \
	  test -s $(BUILD)/man/page.txt || { echo "check-man: $$p renders empty"; exit 1; }; \
	  echo "check-man: $$p renders without warnings"; \
	done
	$(MAN_EXAMPLE)

# ---- the API documentation against the header ----
.PHONY: check-api-docs
check-all: check-api-docs
check-api-docs:
	@scripts/check-api-docs.sh
