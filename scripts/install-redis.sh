#!/usr/bin/env bash
# Redis's server for the tests (the rate-budget board on Redis, the benchmark's --budget-store redis): Debian's
# package, installed only when missing. The tests start their own throwaway server; nothing else is set up.
set -euo pipefail
if command -v redis-server >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Redis is not installed; run as root, or: sudo apt-get install redis-server" >&2
  exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null \
  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; }
