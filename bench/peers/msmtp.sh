#!/usr/bin/env bash
# Peer driver: msmtp (C; Debian package "msmtp"). msmtp sends one message per run (it reads the
# mail from stdin and has no batch mode), so N messages are N runs in a loop, each with its own
# connection; msmtp pipelines MAIL/RCPT/DATA itself when the server offers PIPELINING. No config
# file (-C /dev/null), no TLS, no auth.
#   bash bench/peers/msmtp.sh --host H --port P --n N --file F
set -euo pipefail
source "$(dirname "$0")/args.sh" "$@"
bin=$(command -v msmtp) || { echo "msmtp not found: apt-get install -y msmtp" >&2; exit 127; }
sent=0
t0=$(date +%s%N)
for ((i = 0; i < n; i++)); do
  "$bin" -C /dev/null --host="$host" --port="$port" --auth=off --tls=off --domain=bench.invalid \
    --from="$from" -- "$to" < "$file" && sent=$((sent + 1))
done
t1=$(date +%s%N)
version=$("$bin" --version | head -1 | awk '{ print $3 }')
printf '{"client":"msmtp","version":"%s","sent":%d,"seconds":%s,"cpuS":null,"rssBaseMB":null,"failed":%d}\n' \
  "$version" "$sent" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')" "$((n - sent))"
[ "$sent" -eq "$n" ]
