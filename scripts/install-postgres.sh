#!/usr/bin/env bash
# PostgreSQL's server binaries for the tests (the store's tests on PostgreSQL, the replica runs): Debian's
# package, installed only when missing. The tests start their own throwaway cluster; nothing else is set up.
set -euo pipefail
if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL is not installed; run as root, or: sudo apt-get install postgresql" >&2
  exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
