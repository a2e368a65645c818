#!/usr/bin/env bash
# npm run test:interop — smtpwire against real MTAs (Postfix, aiosmtpd) on 127.0.0.1.
#
# Installs the Debian packages it needs when they are missing (apt-get update first; needs root,
# as CI has), builds, then runs dist/test/interop/interop.js, which starts every server with a
# PRIVATE configuration under a temp dir (never /etc/postfix), runs the suites and stops them.
# The trap below stops them too if the driver dies. Then dist/test/interop/pool-limit.js: the pool
# against Postfix's per-client connection limit. Each prints a closing "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || need+=(postfix)
[ -x /usr/sbin/saslpasswd2 ] || need+=(sasl2-bin)
dpkg -s libsasl2-modules >/dev/null 2>&1 || need+=(libsasl2-modules)
dpkg -s libsasl2-modules-db >/dev/null 2>&1 || need+=(libsasl2-modules-db)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || need+=(python3-dkim)
/usr/bin/python3 -c 'import nacl.signing' >/dev/null 2>&1 || need+=(python3-nacl)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "interop: need root to install: ${need[*]}" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "interop: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix must not configure or start a system instance: we run our own, privately.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "interop: Postfix needs root to start (master binds, then drops to the postfix user)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

npx tsc -p tsconfig.json

work="$(mktemp -d "${TMPDIR:-/tmp}/smtpwire-interop.XXXXXX")"
chmod 755 "$work"
cleanup() {
  # Normally the driver has stopped everything already; this is for when it could not.
  if [ -d "$work/postfix/conf" ]; then postfix -c "$work/postfix/conf" stop >/dev/null 2>&1 || true; fi
  for conf in "$work"/pool-limit-*/conf; do
    if [ -d "$conf" ]; then postfix -c "$conf" stop >/dev/null 2>&1 || true; fi
  done
  if [ -f "$work/aiosmtpd.pid" ]; then kill "$(cat "$work/aiosmtpd.pid")" >/dev/null 2>&1 || true; fi
  if [ -z "${SMTPWIRE_INTEROP_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SMTPWIRE_INTEROP_DIR="$work" node dist/test/interop/interop.js "$@"
# The pool against Postfix's per-client connection limit (its own small Postfix instance).
SMTPWIRE_INTEROP_DIR="$work" node dist/test/interop/pool-limit.js
