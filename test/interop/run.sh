#!/usr/bin/env bash
# npm run test:interop — smtpwire against real MTAs (Postfix, aiosmtpd, Exim) on 127.0.0.1.
#
# Installs the Debian packages it needs when they are missing (apt-get update first; needs root,
# as CI has), builds, then runs dist/test/interop/interop.js, which starts every server with a
# PRIVATE configuration under a temp dir (never /etc/postfix), runs the suites and stops them.
# Exim conflicts with Postfix as Debian's MTA, so it is not installed: its package (with
# exim4-base, exim4-config and libnss-wrapper) is downloaded and extracted with dpkg -x into the
# temp dir, and only the shared libraries it needs are installed.
# The trap below stops them too if the driver dies. Then dist/test/interop/pool-limit.js: the pool
# against Postfix's per-client connection limit. Each prints a closing "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/lib/apt-need.sh
need=()
apt_need_postfix
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || need+=(python3-dkim)
/usr/bin/python3 -c 'import nacl.signing' >/dev/null 2>&1 || need+=(python3-nacl)
apt_need_install interop "${need[@]}"
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
  if [ -f "$work/exim/exim.pid" ]; then kill "$(cat "$work/exim/exim.pid")" >/dev/null 2>&1 || true; fi
  if [ -z "${SMTPWIRE_INTEROP_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Exim, extracted (never installed): the daemon, its base and config packages, and nss_wrapper,
# which shows Exim a passwd file with its user instead of adding one to the system.
exim_debs=(exim4-daemon-light exim4-base exim4-config libnss-wrapper)
mkdir -p "$work/debs" "$work/exim-root"
if ! (cd "$work/debs" && apt-get download "${exim_debs[@]}" >/dev/null 2>&1); then
  echo "interop: apt-get update (to download ${exim_debs[*]})"
  apt-get update -qq
  (cd "$work/debs" && apt-get download "${exim_debs[@]}" >/dev/null)
fi
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/exim-root"; done
# Its shared libraries are ordinary packages that do not conflict with Postfix: install the
# missing ones (named in its Depends), then insist that nothing is left unresolved.
libs=()
for dep in $(dpkg-deb -f "$work"/debs/exim4-daemon-light_*.deb Depends | tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/ //g' | grep '^lib'); do
  dpkg -s "$dep" >/dev/null 2>&1 || libs+=("$dep")
done
if [ "${#libs[@]}" -gt 0 ]; then
  echo "interop: installing Exim's libraries: ${libs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null
fi
if ldd "$work/exim-root/usr/sbin/exim4" | grep -q 'not found'; then
  echo "interop: Exim's libraries are missing:" >&2
  ldd "$work/exim-root/usr/sbin/exim4" | grep 'not found' >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export SMTPWIRE_EXIM_ROOT="$work/exim-root"

SMTPWIRE_INTEROP_DIR="$work" node dist/test/interop/interop.js "$@"
# The pool against Postfix's per-client connection limit (its own small Postfix instance).
SMTPWIRE_INTEROP_DIR="$work" node dist/test/interop/pool-limit.js
