#!/usr/bin/env bash
# `make test` kills a tmux session running terminal IPython (tests/notebook/test_terminal.py). As root, install Debian's
# tmux with apt when it is missing; otherwise say what to do.
set -euo pipefail
command -v tmux >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing tmux with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux
    exit 0
fi
echo "make test: tmux is missing; install it (apt-get install -y tmux), or the tmux test fails" >&2
