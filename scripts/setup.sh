#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine, idempotently:
# Debian's redis-server and chromium, a virtualenv with the package and its test extras, and
# the pinned Node BullMQ versions used by the interop tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)  # joins the test cluster
command -v openssl >/dev/null || need_apt+=(openssl)  # the TLS test's throwaway CA
if [ "${#need_apt[@]}" -gt 0 ] && [ "${1:-}" = "--test" ]; then
  echo "setup: installing ${need_apt[*]} from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v '^WARNING: Location' || true

if [ "${1:-}" = "--test" ] && [ ! -d tests/interop/node_modules ]; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi
