"""Keeping the serving process on one CPU (`BIZBOT_CPU`).

A Python process runs Python on one core at a time (the GIL). `bizbot serve` runs its event loop in one
thread and the use cases in a database thread, so every command passes the GIL from one thread to the
other and back, and SQLite's driver lets go of it around each statement. When the two threads sit on
different CPUs each of those handovers is a cross-CPU wake-up; on one CPU it is an ordinary context
switch. Measured with bench/telegram_updates.py on a 2-vCPU VM: 3.8 ms of server CPU per Telegram
command unpinned, 2.8 ms pinned (and 2.7 ms with no database thread at all); the bare
python-telegram-bot app, which has one thread, is the same either way. What the process gives up is
running its few GIL-free stretches (SQLite's own I/O) beside Python, which is little.

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
