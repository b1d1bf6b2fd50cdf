#!/usr/bin/env bash
# `make test` drives terminal IPython in tmux (tests/test_terminal.py) and draws the notebooks' charts with stock
# names in Hangul (tests/test_notebook_charts.py), so it needs Debian's tmux and a Korean font (fonts-nanum). As
# root, install what is missing with apt; otherwise say what to do.
set -euo pipefail
have_korean_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko 2>/dev/null)" ]; }
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
have_korean_font || missing+=(fonts-nanum fontconfig)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    exit 0
fi
echo "make test: missing ${missing[*]}; install them (apt-get install -y ${missing[*]}), or the tmux and chart tests fail" >&2
