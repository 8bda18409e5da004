"""dial_loop.first_of: back at the first of its waits, the others cancelled, or at its
timeout with all of them cancelled."""
import asyncio

from ivr.dial_loop import first_of


async def test_the_first_done_ends_the_wait_and_the_others_are_cancelled():
    woken, never = asyncio.Event(), asyncio.Event()
    other = asyncio.ensure_future(never.wait())
    asyncio.get_running_loop().call_soon(woken.set)
    await asyncio.wait_for(first_of([woken.wait(), other], timeout=30), 5)
    assert other.cancelled()


async def test_the_timeout_ends_the_wait_with_every_wait_cancelled():
    waits = [asyncio.ensure_future(asyncio.Event().wait()) for _ in range(2)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(first_of(waits, timeout=0.05), 5)
    assert loop.time() - began >= 0.04                # the loop may wake a tick early
    assert all(w.cancelled() for w in waits)
