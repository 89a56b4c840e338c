#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine, idempotently:
# Debian packages (python3-venv where Python lacks ensurepip; for the tests also redis-server,
# redis-cli, openssl, chromium, CJK fonts, podman, buildah, debootstrap and, when npm is
# missing, Node from Debian), a virtualenv with the package and its test extras, and the pinned
# Node packages of tests/interop (BullMQ 5 and 6, axe-core, oidc-provider).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
python3 -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)
if [ "${1:-}" = "--test" ]; then
  command -v redis-server >/dev/null || need_apt+=(redis-server)
  command -v redis-cli >/dev/null || need_apt+=(redis-tools)  # joins the test cluster
  command -v openssl >/dev/null || need_apt+=(openssl)  # the TLS test's throwaway CA
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)  # Playwright launches Debian's build
  # Japanese and Chinese glyphs for the language screenshots (tests/browser/test_languages.py).
  fc-list :lang=ja 2>/dev/null | grep -q . || need_apt+=(fonts-noto-cjk)
  command -v npm >/dev/null || need_apt+=(nodejs npm)  # Node BullMQ, the interop reference
  # The image test builds the Dockerfile; debootstrap makes its base where no registry answers.
  command -v podman >/dev/null || need_apt+=(podman)
  command -v buildah >/dev/null || need_apt+=(buildah)
  command -v debootstrap >/dev/null || need_apt+=(debootstrap)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"

# Again whenever the lock file changed since the last install (npm keeps its own copy there).
lock=tests/interop/package-lock.json
if [ "${1:-}" = "--test" ] && [ "$lock" -nt tests/interop/node_modules/.package-lock.json ]; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi
