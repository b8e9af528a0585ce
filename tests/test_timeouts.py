"""``within`` (openras.timeouts): wait_for without Python 3.11's lost cancellation, in memory;
and the daemon's hang-up of a dial whose connect has just succeeded, against a real listener."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ras_helpers import SilentPeer, silent_entry, wait_for

from openras.client.ras import Ras
from openras.timeouts import within


def _cancelled_as_it_completes(wait: Any) -> bool:
    """Whether a task cancelled in the loop iteration its awaited future completes is
    cancelled (it must be: the cancellation is the caller's, the result comes too late)."""

    async def main() -> bool:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        went_on = asyncio.Event()

        async def waiter() -> None:
            await wait(future, 10)
            went_on.set()  # a lost cancellation: the task goes on as if nothing happened
            await asyncio.sleep(10)

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # the task now waits for the future
        future.set_result(1)
        task.cancel()  # in the same iteration
        await asyncio.wait([task], timeout=2)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        return task.cancelled() and not went_on.is_set()

    return asyncio.run(main())


def test_within_never_loses_a_cancellation() -> None:
    assert _cancelled_as_it_completes(within)


def test_within_times_out_and_returns() -> None:
    async def main() -> None:
        assert await within(asyncio.sleep(0, "done"), 1) == "done"
        assert await within(asyncio.sleep(0, "no limit"), None) == "no limit"
        with pytest.raises(TimeoutError):
            await within(asyncio.sleep(10), 0.01)

    asyncio.run(main())


def test_a_hang_up_right_after_the_dial_always_ends_the_handle(daemon: Any, tmp_path: Any) -> None:
    """Dial and hang up at once, many times: the hang-up's cancellation may land just as the
    dial's TCP connect succeeds. Each handle must be released at once, not after the SSH
    handshake's time-out (20 s) it would otherwise have gone on to."""
    peer = SilentPeer()
    try:
        silent_entry(daemon, "silent", peer.port, tmp_path)
        with daemon.client() as c:
            ras = Ras(c)
            for _ in range(100):
                started = ras.dial("silent", user="u", password="p")
                c.call("DELETE", f"/v1/connections/{started.handle}")
                wait_for(lambda: c.call("GET", "/v1/connections") == [], timeout=10)
    finally:
        peer.close()
