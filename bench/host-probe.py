#!/usr/bin/env python3
"""What the host did to bench/run's load while it ran: an 8 KB write and
fdatasync every 20 ms to a file of DIR (PostgreSQL's data directory), as a
commit's WAL flush does, and the CPU time the hypervisor gave to others
(steal, /proc/stat).  On SIGTERM it prints "N LONGEST STEAL": how many
fdatasyncs took over 50 ms, the longest (ms), and the steal (ms of CPU).
A commit waits for the same disk, and every process for the CPU, so a
request that waited that long may have waited for them.

    bench/host-probe.py DIR
"""
import os
import signal
import sys
import time


def steal_ms():
    with open("/proc/stat") as f:
        ticks = int(f.readline().split()[8])
    return ticks * 1000 // os.sysconf("SC_CLK_TCK")


path = os.path.join(sys.argv[1], "host-probe.bin")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
block = b"\0" * 8192
over, longest, stop = 0, 0.0, False
steal0 = steal_ms()


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
i = 0
while not stop and i < 100000:       # 100,000 x 20 ms: half an hour at most
    t = time.monotonic()
    os.pwrite(fd, block, (i % 64) * len(block))
    os.fdatasync(fd)
    took = (time.monotonic() - t) * 1000
    over += took > 50
    longest = max(longest, took)
    i += 1
    if not stop:
        time.sleep(0.02)
os.close(fd)
os.unlink(path)
print(over, round(longest), steal_ms() - steal0)
