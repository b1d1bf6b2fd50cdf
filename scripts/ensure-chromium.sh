#!/usr/bin/env bash
# `make e2e` needs Debian's Chromium (Playwright cannot download its own browsers here), and a Korean font so
# the screenshots in docs/ show Hangul. As root, install what is missing with apt; otherwise say what to do.
set -euo pipefail
chromium="${1:-/usr/bin/chromium}"

have_korean_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko 2>/dev/null)" ]; }

missing=()
[ -x "$chromium" ] || missing+=(chromium)
have_korean_font || missing+=(fonts-nanum)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make e2e: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    exit 0
fi
if [ ! -x "$chromium" ]; then
    echo "make e2e: no Chromium at $chromium. Install Debian's chromium as root (apt-get install -y chromium)," >&2
    echo "or point CHROMIUM at a Chromium binary: make e2e CHROMIUM=/path/to/chromium" >&2
    exit 1
fi
echo "make e2e: no Korean font (apt-get install -y fonts-nanum); the tests run, but Hangul in docs/*.png shows as boxes" >&2
