#!/usr/bin/env bash
# npm run test:scale — smtpwire workers on BullMQ + redis-server (Debian), against a logging
# smtp-server sink on 127.0.0.1 (see test/scale/run.mjs). Installs redis-server when missing
# (apt-get update first; needs root, as CI has). Closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "scale: redis-server is missing and installing it needs root" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "scale: installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the package from starting a system instance: we run our own.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1; fi
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
npx tsc -p tsconfig.json
exec node test/scale/run.mjs "$@"
