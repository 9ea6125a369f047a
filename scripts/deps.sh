#!/usr/bin/env bash
# Make sure the build dependencies are present. As root on Debian, install
# what is missing with apt-get; otherwise print the exact command to run.
# Usage: scripts/deps.sh [build|demo|check]
set -eu
want=${1:-build}
pkgs=()
command -v cc >/dev/null 2>&1 || pkgs+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
pkg-config --exists openblas 2>/dev/null || [ -n "${BLAS_LIBS:-}" ] || pkgs+=(libopenblas-dev)
pkg-config --exists zlib 2>/dev/null || pkgs+=(zlib1g-dev)
if [ "$want" = demo ]; then
  # make data downloads MNIST: it needs some downloader and the CA bundle.
  command -v npm >/dev/null 2>&1 || command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 \
    || command -v python3 >/dev/null 2>&1 || pkgs+=(curl)
  [ -f /etc/ssl/certs/ca-certificates.crt ] || pkgs+=(ca-certificates)
fi
if [ "$want" = check ]; then
  pkg-config --exists check 2>/dev/null || pkgs+=(check)
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || pkgs+=(python3-numpy)
  /usr/bin/python3 -c 'import pytest' 2>/dev/null || pkgs+=(python3-pytest)
  # check-man formats the manual pages; check-header needs a C++ compiler
  command -v groff >/dev/null 2>&1 || pkgs+=(groff)
  command -v man >/dev/null 2>&1 || pkgs+=(man-db)
  command -v g++ >/dev/null 2>&1 || pkgs+=(g++)
fi
[ ${#pkgs[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing missing packages: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
else
  echo "missing build dependencies; run as root:"
  echo "  apt-get update && apt-get install -y ${pkgs[*]}"
  exit 1
fi
