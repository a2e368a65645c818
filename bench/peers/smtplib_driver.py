#!/usr/bin/env python3
"""Peer driver: Python's standard smtplib, as its docs send mail.

One smtplib.SMTP connection; sendmail() for each message, in a loop (smtplib has no
PIPELINING, so every command waits for its reply). sendmail() takes the whole message as
bytes, so the N = 1 file is read whole (inside the clock).

    python3 bench/peers/smtplib_driver.py --host H --port P --n N --file F

Prints the driver contract's JSON line: { client, version, sent, seconds, cpuS, rssBaseMB }.
"""
import argparse
import json
import os
import platform
import resource
import smtplib
import sys
import time


def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=25)
    p.add_argument('--n', type=int, default=1)
    p.add_argument('--file', required=True)
    p.add_argument('--from', dest='sender', default='bench@example.org')
    p.add_argument('--to', default='sink@example.org')
    a = p.parse_args()

    data = None
    if a.n > 1:
        with open(a.file, 'rb') as f:
            data = f.read()

    rss_base = rss_bytes()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    s = smtplib.SMTP(a.host, a.port, local_hostname='bench.invalid')
    s.ehlo()
    if data is None:
        with open(a.file, 'rb') as f:
            data = f.read()
    sent = 0
    for _ in range(a.n):
        refused = s.sendmail(a.sender, [a.to], data)
        if not refused:
            sent += 1
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    s.quit()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        'client': 'python smtplib', 'version': platform.python_version(), 'sent': sent,
        'seconds': seconds, 'cpuS': cpu, 'rssBaseMB': rss_base / 1e6, 'rssPeakMB': peak / 1e6,
        'failed': a.n - sent,
    }))
    return 0 if sent == a.n else 1


if __name__ == '__main__':
    sys.exit(main())
