"""Keeping the serving process on one CPU (`BIZBOT_CPU`).

A Python process runs Python on one core at a time (the GIL). `bizbot serve` runs its event loop in one
thread and the use cases in a database thread, so every command passes the GIL from one thread to the
other and back, and SQLite's driver lets go of it around each statement. When the two threads sit on
different CPUs each of those handovers is a cross-CPU wake-up; on one CPU it is an ordinary context
switch. Measured with bench/slack_ack.py on a 2-vCPU VM (three runs each way, 2026-12-04): a Slack
/visit costs 0.91–0.94 ms of server CPU pinned and 1.00–1.19 ms unpinned (890–980 against 700–820
requests/s at concurrency 10); Telegram's /visit, whose own work is larger, 2.4–2.7 ms against
2.5–2.8 ms. The bare apps, which have one thread, are the same either way. What the process gives up
is running its few GIL-free stretches (SQLite's own I/O) beside Python, which is little.

`auto` pins on SQLite, where exactly one process serves a database; on PostgreSQL several replicas may
share a host, so `auto` leaves placement to the OS there and an operator who runs one replica per host
(or per cpuset) can name a CPU. `off` never pins.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


class AffinityError(Exception):
    pass


def choose(setting: str, dialect: str) -> int | None:
    """The CPU `pin` keeps the process on for a `BIZBOT_CPU` setting and database, or None (not pinned)."""
    if setting == "off" or (setting == "auto" and dialect != "sqlite"):
        return None
    if not hasattr(os, "sched_setaffinity"):  # not Linux: the OS places threads
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if setting == "auto":
        return allowed[-1]  # the last allowed CPU: the first tends to take more of the machine's interrupts
    cpu = int(setting)
    if cpu not in allowed:
        raise AffinityError(f"BIZBOT_CPU: CPU {cpu} is not one this process may use ({allowed})")
    return cpu


def pin(setting: str, dialect: str) -> int | None:
    """Keep this process (and every thread it starts from now on) on one CPU; the CPU, or None."""
    cpu = choose(setting, dialect)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
        log.info("serving on CPU %s (BIZBOT_CPU=%s)", cpu, setting)
    return cpu


def describe(setting: str, dialect: str) -> str:
    """Where a process serving this database would run, in words (for logs and benchmarks)."""
    cpu = choose(setting, dialect)
    where = "left to the OS" if cpu is None else f"kept on CPU {cpu}"
    return f"{where} (BIZBOT_CPU={setting} on {dialect})"
