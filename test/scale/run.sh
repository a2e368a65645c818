#!/usr/bin/env bash
# npm run test:scale — smtpwire workers on BullMQ + redis-server (Debian), against a logging
# smtp-server sink on 127.0.0.1 (see test/scale/run.mjs). Installs redis-server when missing
# (apt-get update first; needs root, as CI has). Closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
. test/lib/apt-need.sh
# redis-server must not start a system instance: we run our own.
APT_NEED_NO_DAEMONS=1 APT_NEED_ROOT_MESSAGE="scale: redis-server is missing and installing it needs root" apt_need_install scale "${need[@]}"
npx tsc -p tsconfig.json
exec node test/scale/run.mjs "$@"
