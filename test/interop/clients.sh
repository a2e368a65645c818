#!/usr/bin/env bash
# npm run test:clients — real mail programs (git send-email, s-nail, bsd-mailx, PHP mail()) and
# msmtp's own example files delivering through smtpwire's sendmail mode to a private Postfix on
# 127.0.0.1 (test/interop/clients.ts). Installs the Debian packages it needs when missing
# (apt-get update first; needs root, as CI has). Closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

. test/lib/apt-need.sh
need=()
apt_need_postfix
dpkg -s git-email >/dev/null 2>&1 || need+=(git-email)
# git send-email dies without Mail::Address and Email::Valid (Recommends: --no-install-recommends skips them).
dpkg -s libmailtools-perl >/dev/null 2>&1 || need+=(libmailtools-perl)
dpkg -s libemail-valid-perl >/dev/null 2>&1 || need+=(libemail-valid-perl)
command -v s-nail >/dev/null 2>&1 || need+=(s-nail)
command -v bsd-mailx >/dev/null 2>&1 || need+=(bsd-mailx)
command -v php >/dev/null 2>&1 || need+=(php-cli)
command -v msmtp >/dev/null 2>&1 || need+=(msmtp)
command -v gpg >/dev/null 2>&1 || need+=(gpg)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
apt_need_install clients "${need[@]}"
if [ "$(id -u)" != 0 ]; then
  echo "clients: Postfix needs root to start" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

npx tsc -p tsconfig.json
node dist/test/interop/clients.js "$@"
