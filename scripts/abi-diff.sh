#!/usr/bin/env bash
# Compare the built library's ABI with the last tagged version (docs/ABI.md).
# Without a tag there is nothing to compare with: say so and succeed.
set -euo pipefail
cd "$(dirname "$0")/.."
last=$(git describe --tags --abbrev=0 2>/dev/null || true)
if [ -z "$last" ]; then
  echo "abi-diff: no tagged version yet, nothing to compare"
  exit 0
fi
if ! command -v abidiff >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq abigail-tools >/dev/null; else
    echo "abi-diff: needs abidiff (apt-get install abigail-tools)"; exit 1; fi
fi
old=$(mktemp -d)
trap 'git worktree remove --force "$old/src" >/dev/null 2>&1 || true; rm -rf "$old"' EXIT
git worktree add -q "$old/src" "$last"
make -s -C "$old/src" >/dev/null
make -s >/dev/null
set +e
abidiff --headers-dir1 "$old/src/include" --headers-dir2 include "$old/src/lib/libjacnet.so" lib/libjacnet.so
rc=$?
set -e
major() { sed -n 's/^#define JN_VERSION_MAJOR \([0-9]*\)/\1/p' "$1"; }
if [ $((rc & 8)) -ne 0 ] && [ "$(major "$old/src/include/jacnet.h")" = "$(major include/jacnet.h)" ]; then
  echo "abi-diff: incompatible ABI change against $last without a major version bump"; exit 1
fi
if [ $((rc & 4)) -ne 0 ] && [ "$(sed -n 's/^#define JN_VERSION_MINOR \([0-9]*\)/\1/p' "$old/src/include/jacnet.h")" = \
     "$(sed -n 's/^#define JN_VERSION_MINOR \([0-9]*\)/\1/p' include/jacnet.h)" ] && \
   [ "$(major "$old/src/include/jacnet.h")" = "$(major include/jacnet.h)" ]; then
  echo "abi-diff: ABI change against $last in a patch release"; exit 1
fi
[ $((rc & 3)) -ne 0 ] && { echo "abi-diff: abidiff failed ($rc)"; exit 1; }
echo "abi-diff: compatible with $last"
