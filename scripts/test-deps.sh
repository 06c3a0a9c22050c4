#!/usr/bin/env bash
# Makes sure the programs the test suite starts are on this machine: redis-server (real Redis and
# Redis Cluster), nats-server (JetStream and its clusters), openssl (test certificates), zstd (frames
# from the reference compressor), Chromium (the web console's browser tests) and
# prometheus with promtool (the alert rules' and dashboard's tests).
# Installs Debian's packages when missing and running as root; otherwise says what to install.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
[ -x /usr/sbin/nats-server ] || missing+=(nats-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Without its recommended node exporter, which the tests do not use.
lean=()
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || lean+=(prometheus)
[ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing ${missing[*]} ${lean[*]}" >&2
  apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
else
  all=("${missing[@]}" "${lean[@]}")
  echo "test-deps: the tests need these Debian packages: ${all[*]} (sudo apt-get install ${all[*]})" >&2
  exit 1
fi
