#!/usr/bin/env python3
"""Whole-process CPU against the main thread's, for one command.

Runs the command, samples /proc/PID/task/*/stat until it exits (the last
sample of each thread is its CPU time to within the sampling interval), and
takes the whole process's CPU from wait4's rusage.  An idle thread that
spins shows up as total CPU well above the main thread's.

    python3 bench/threadcpu.py COMMAND [ARGS...]
"""
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """CPU seconds (user + system) of each live thread of pid, by tid."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # After the command name: state is field 3, utime 14 and stime 15.
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: threadcpu.py COMMAND [ARGS...]")
    t0 = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
    seen = {}
    while True:
        # wait4 with WNOHANG reaps the child only once it has exited, so
        # /proc still holds its threads for every sample before that.
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        seen.update(thread_cpu(proc.pid))
        time.sleep(0.02)
    wall = time.monotonic() - t0
    total = ru.ru_utime + ru.ru_stime
    main_cpu = seen.get(proc.pid, 0.0)
    others = sum(v for k, v in seen.items() if k != proc.pid)
    print(f"threads={len(seen)} wall={wall:.3f} process_cpu={total:.4f} "
          f"main_thread_cpu={main_cpu:.3f} other_threads_cpu={others:.3f} "
          f"ratio={total / main_cpu if main_cpu else float('nan'):.3f} "
          f"exit={os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
