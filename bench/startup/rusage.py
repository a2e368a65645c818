#!/usr/bin/env python3
"""Run one command and print how long it took as one JSON line: wall time from fork to exit,
and its CPU time (user + system) and peak RSS from wait4(), at microsecond resolution
(/usr/bin/time rounds CPU to 10 ms, too coarse for a process that lives 50 ms).

    python3 bench/startup/rusage.py [--stdin FILE] -- COMMAND ARG...
"""
import json
import os
import sys
import time

args = sys.argv[1:]
stdin = None
if args[:1] == ['--stdin']:
    stdin = args[1]
    args = args[2:]
if args[:1] == ['--']:
    args = args[1:]

fd = os.open(stdin if stdin else os.devnull, os.O_RDONLY)
null = os.open(os.devnull, os.O_WRONLY)
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(fd, 0)
    os.dup2(null, 1)
    try:
        os.execvp(args[0], args)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(json.dumps({
    'wallMs': wall * 1000,
    'cpuMs': (ru.ru_utime + ru.ru_stime) * 1000,
    'maxRssKB': ru.ru_maxrss,
    'exit': os.waitstatus_to_exitcode(status),
}))
