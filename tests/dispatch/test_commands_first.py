"""Commands first: background jobs on the database threads wait while a command waits or runs, and take at most
half the threads, so a command waits at most for the one background job already running."""
from __future__ import annotations

import threading

from bot.bootstrap import App
from bot.threads import DatabaseThreads


def test_a_command_goes_before_background_jobs_queued_earlier(app: App) -> None:
    threads = DatabaseThreads(app.sessions, 1)
    order: list[str] = []
    gate = threading.Event()

    def job(name: str, wait: threading.Event | None = None) -> str:
        if wait is not None:
            assert wait.wait(10)
        order.append(name)
        return name

    background = threads.background()
    running = background.submit(job, "sweep batch", gate)  # on the thread, held until the gate opens
    queued = background.submit(job, "pump chunk")
    command = threads.submit(job, "/visit")
    gate.set()
    assert [f.result(10) for f in (running, queued, command)] == ["sweep batch", "pump chunk", "/visit"]
    assert order == ["sweep batch", "/visit", "pump chunk"]
    threads.shutdown()


def test_background_jobs_take_at_most_half_the_threads(app: App) -> None:
    threads = DatabaseThreads(app.sessions, 4)
    started = threading.Semaphore(0)
    gate = threading.Event()

    def held() -> None:
        started.release()
        assert gate.wait(10)

    background = threads.background()
    jobs = [background.submit(held) for _ in range(4)]
    assert started.acquire(timeout=10) and started.acquire(timeout=10)  # two of them started
    assert threads.submit(lambda: "answered").result(10) == "answered"  # a thread free for a command
    assert not started.acquire(blocking=False)  # and no third background job began meanwhile
    gate.set()
    for job in jobs:
        job.result(10)
    threads.shutdown()


def test_shutting_down_cancels_the_background_jobs_still_waiting(app: App) -> None:
    threads = DatabaseThreads(app.sessions, 1)
    gate = threading.Event()
    background = threads.background()
    running = background.submit(gate.wait, 10)
    waiting = background.submit(lambda: "never")
    threads.shutdown(wait=False)
    gate.set()
    assert running.result(10) is True
    assert waiting.cancelled()


def test_what_an_acknowledgement_waits_for_goes_before_queued_commands(app: App) -> None:
    threads = DatabaseThreads(app.sessions, 1)
    order: list[str] = []
    gate = threading.Event()

    def job(name: str, wait: threading.Event | None = None) -> None:
        if wait is not None:
            assert wait.wait(10)
        order.append(name)

    running = threads.submit(job, "/visit", gate)
    queued = threads.submit(job, "/lead list")
    behind = threads.background().submit(job, "sweep batch")
    first = threads.first().submit(job, "event recorded")
    gate.set()
    for future in (running, queued, behind, first):
        future.result(10)
    assert order == ["/visit", "event recorded", "/lead list", "sweep batch"]
    threads.shutdown()
