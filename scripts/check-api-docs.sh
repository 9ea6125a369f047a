#!/usr/bin/env bash
# Every function declared in include/jacnet.h must be named in docs/API.md
# and in man/libjacnet.3, and neither may name (as a call, `jn_x(` or the
# man page's `jn_x ()`) a function the header does not declare. Run by
# `make check-api-docs`, part of `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
header=include/jacnet.h
declared=$(sed -n 's/^JN_API[^(]*[ *]\(jn_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
declared_mpi=$(sed -n 's/^JN_MPI_API[^(]*[ *]\(jn_mpi_[a-z0-9_]*\)(.*/\1/p' include/jacnet_mpi.h | sort -u)
count=$(printf '%s\n' "$declared" | wc -l)
[ "$count" -gt 50 ] || { echo "check-api-docs: only $count functions found in $header; is the pattern stale?"; exit 1; }

fail=0
for doc in docs/API.md man/libjacnet.3; do
    # roff escapes that may sit inside or before a name: \% (no hyphenation), \fB...\fP
    text=$(sed -e 's/\\%//g' -e 's/\\f[BIRP]//g' "$doc")
    # Here-strings, not pipes: with pipefail, grep -q closing the pipe early
    # would fail the printf feeding it (SIGPIPE) and report a false miss.
    missing=$(for f in $declared; do grep -qw -- "$f" <<< "$text" || echo "$f"; done)
    if [ -n "$missing" ]; then
        echo "check-api-docs: $doc does not mention:"; printf '  %s\n' $missing; fail=1
    fi
    called=$(printf '%s\n' "$text" | grep -o 'jn_[a-z0-9_]* \{0,1\}(' | sed 's/ *($//' | sort -u)
    # API.md documents libjacnet_mpi (include/jacnet_mpi.h) as well.
    stale=$(for f in $called; do grep -qx -- "$f" <<< "$declared"$'\n'"$declared_mpi" || echo "$f"; done)
    if [ -n "$stale" ]; then
        echo "check-api-docs: $doc names functions jacnet.h does not declare:"; printf '  %s\n' $stale; fail=1
    fi
done
[ $fail = 0 ] && echo "check-api-docs: all $count functions of jacnet.h are in docs/API.md and man/libjacnet.3"
exit $fail
