#!/usr/bin/env bash
# Peer driver: Postfix's smtp-source (C; Debian package "postfix"), its fastest settings for one
# client: one session (-s 1) that stays connected between messages (-d), N messages (-m N),
# the message read from a file (-F; smtp-source appends CRLF to each line, so the file has LF
# line endings). smtp-source has no PIPELINING ("BUGS: No SMTP command pipelining support").
#   bash bench/peers/smtp-source.sh --host H --port P --n N --file F
set -euo pipefail
source "$(dirname "$0")/args.sh" "$@"
bin=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$bin" ] || { echo "smtp-source not found: apt-get install -y postfix" >&2; exit 127; }
t0=$(date +%s%N)
"$bin" -d -s 1 -m "$n" -F "$file" -f "$from" -t "$to" -M bench.invalid "inet:$host:$port" >&2
t1=$(date +%s%N)
version=$(dpkg-query -W -f='${Version}' postfix 2>/dev/null || echo unknown)
printf '{"client":"smtp-source","version":"%s","sent":%d,"seconds":%s,"cpuS":null,"rssBaseMB":null}\n' \
  "$version" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')"
