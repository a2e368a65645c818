#!/usr/bin/env bash
# npm run test:proxy — smtpwire through real proxy servers (microsocks, Dante, tinyproxy, ssh -D) and
# against TLS servers that require client certificates, on 127.0.0.1, in Node, Deno, Bun and
# workerd (Miniflare).
#
# Installs the Debian packages it needs when they are missing (apt-get update first; needs root,
# as CI has), builds, then runs dist/test/proxy/proxy.js, which writes each proxy's PRIVATE
# configuration under a temp dir, starts them on free high ports and stops them after.
# Closing line: "N passed, N failed". `bash test/proxy/run.sh node|deno|bun|workers` runs one
# runtime's cases only (node: with the CLI's).
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v microsocks >/dev/null 2>&1 || need+=(microsocks)
[ -x /usr/sbin/danted ] || command -v danted >/dev/null 2>&1 || need+=(dante-server)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/sbin/tinyproxy ] || need+=(tinyproxy)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
. test/lib/apt-need.sh
# The packages must not start system-wide daemons; we run our own, privately.
APT_NEED_NO_DAEMONS=1 apt_need_install proxy "${need[@]}"

npx tsc -p tsconfig.json

work="$(mktemp -d "${TMPDIR:-/tmp}/smtpwire-proxy.XXXXXX")"
chmod 755 "$work"
cleanup() {
  # The driver stops its proxies; this is for when it could not.
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" >/dev/null 2>&1 || true; done
  if [ -z "${SMTPWIRE_PROXY_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SMTPWIRE_PROXY_DIR="$work" node dist/test/proxy/proxy.js "$@"
