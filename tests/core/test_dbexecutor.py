"""The database executor: results and errors reach the event loop, several results share one wake-up, and
it behaves as an Executor for run_in_executor and shutdown."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.dbexecutor import DbExecutor, Late, run_in, run_within


def test_results_and_errors_reach_the_loop() -> None:
    executor = DbExecutor(1)

    def fail() -> None:
        raise ValueError("no such customer")

    async def main() -> None:
        assert await executor.run(lambda a, b: a + b, 2, 3) == 5
        assert await run_in(executor, threading.current_thread) is not threading.current_thread()
        with pytest.raises(ValueError, match="no such customer"):
            await executor.run(fail)
        assert await asyncio.get_running_loop().run_in_executor(executor, sorted, [3, 1, 2]) == [1, 2, 3]

    asyncio.run(main())
    executor.shutdown()


def test_many_results_share_wake_ups_and_none_is_lost() -> None:
    """Results that finish while the loop has not yet taken earlier ones ride on the wake-up on its way."""
    executor = DbExecutor(1)
    wakeups = 0

    async def main() -> list[int]:
        nonlocal wakeups
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(callback, *args, **kwargs):
            nonlocal wakeups
            wakeups += 1
            return original(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        gate = threading.Event()
        blocked = asyncio.ensure_future(executor.run(gate.wait))   # holds the thread while the rest queue up
        jobs = [asyncio.ensure_future(executor.run(lambda i=i: i)) for i in range(200)]
        await asyncio.sleep(0.01)                                    # every job is queued behind the gate
        gate.set()
        time.sleep(0.2)                                              # the loop is busy while they all finish
        results = await asyncio.gather(*jobs)
        await blocked
        return results

    assert asyncio.run(main()) == list(range(200))
    assert wakeups <= 3  # one for the gate's job, one for the 200 that finished while the loop was busy
    executor.shutdown()


def test_a_cancelled_wait_is_skipped_and_shutdown_waits_for_work() -> None:
    executor = DbExecutor(2)
    done: list[str] = []

    def slow(name: str) -> str:
        time.sleep(0.05)
        done.append(name)
        return name

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(executor.run(slow, "abandoned"), 0.001)  # its result arrives to nobody
        assert await executor.run(slow, "awaited") == "awaited"

    asyncio.run(main())
    future = executor.submit(slow, "at shutdown")
    executor.shutdown(wait=True)
    assert future.result(0) == "at shutdown" and done == ["abandoned", "awaited", "at shutdown"]
    with pytest.raises(RuntimeError):
        executor.submit(slow, "too late")


def test_a_result_for_a_closed_loop_is_dropped() -> None:
    executor = DbExecutor(1)
    gate = threading.Event()

    async def main() -> None:
        asyncio.ensure_future(executor.run(gate.wait))
        await asyncio.sleep(0)

    asyncio.run(main())      # the loop closes while its job is still running
    gate.set()
    assert executor.submit(lambda: "still working").result(5) == "still working"
    executor.shutdown()


def test_each_thread_runs_its_start_and_stop_work_in_itself() -> None:
    """on_start and on_stop (the server's threads hold a session there) run in each worker thread."""
    started: list[str] = []
    stopped: list[str] = []
    executor = DbExecutor(2, on_start=lambda: started.append(threading.current_thread().name),
                          on_stop=lambda: stopped.append(threading.current_thread().name))
    assert asyncio.run(executor.run(lambda: threading.current_thread().name)) in {"bizbot-db-0", "bizbot-db-1"}
    executor.shutdown(wait=True)
    assert sorted(started) == sorted(stopped) == ["bizbot-db-0", "bizbot-db-1"]


@pytest.mark.parametrize("kind", ["db", "pool"])
def test_a_budgeted_wait_gives_the_result_in_time_or_hands_it_on_late(kind: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    executor = DbExecutor(1) if kind == "db" else ThreadPoolExecutor(1)
    gate = threading.Event()

    def fail() -> None:
        gate.wait(5)
        raise ValueError("locked")

    async def main() -> None:
        assert await run_within(executor, 5, lambda: 42) == 42
        with pytest.raises(Late) as late:
            await run_within(executor, 0.05, lambda: gate.wait(5) and "done")
        assert not late.value.result.done()
        gate.set()
        assert await late.value.result == "done"  # the outcome arrives where Late said, once the work is done
        gate.clear()
        with pytest.raises(Late) as late:
            await run_within(executor, 0.05, fail)
        gate.set()
        with pytest.raises(ValueError, match="locked"):
            await late.value.result
        waiter = asyncio.ensure_future(run_within(executor, 5, time.sleep, 0.1))
        await asyncio.sleep(0.01)
        waiter.cancel()  # whoever waited went away: the result reaches nobody, and nothing breaks
        assert await run_within(executor, 5, lambda: "after") == "after"

    asyncio.run(main())
    executor.shutdown()
