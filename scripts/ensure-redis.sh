#!/usr/bin/env bash
# `make test` runs the shared pace through a real Redis (tests/rest/test_pace_redis.py starts redis-server on a free
# loopback port and stops it), so it needs Debian's redis-server. As root, install it with apt when missing;
# otherwise say what to do. Installing does not leave a server running: the tests start their own.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing redis-server with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
    # Debian's package starts a system service on port 6379; the tests never use it: stop it where systemd runs
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
        systemctl stop redis-server || true
    fi
    exit 0
fi
echo "make test: redis-server is missing; install it (apt-get install -y redis-server), or the Redis pace tests fail" >&2
