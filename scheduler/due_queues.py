"""What comes due when, for the in-memory store (scheduler/memory.py): a heap of (time, id)
per kind of work: her plan, a delivery, a callback, the lease of a live call. An entry is
never taken out when its row changes: a new one is pushed, and the store skips the stale one
(its time is no longer the row's). Work found due while she is on a call waits beside her
(`block`) until the call ends (`unblock`). Pure."""
from __future__ import annotations

import heapq
from datetime import datetime
from typing import Callable, Iterator, Literal

Kind = Literal["plan", "delivery", "callback", "lease"]
Waiting = Literal["delivery", "callback"]
KINDS: tuple[Kind, ...] = ("plan", "delivery", "callback", "lease")


def _always() -> bool:
    return True


class DueQueues:
    def __init__(self) -> None:
        self._heaps: dict[Kind, list[tuple[datetime, int]]] = {k: [] for k in KINDS}
        self._blocked: dict[int, list[tuple[Waiting, int]]] = {}   # woman -> her waiting work

    def push(self, kind: Kind, at: datetime, item_id: int) -> None:
        heapq.heappush(self._heaps[kind], (at, item_id))

    def due(self, kind: Kind, now: datetime,
            wanted: Callable[[], bool] = _always) -> Iterator[tuple[datetime, int]]:
        """Take out the entries of `kind` due by `now`, earliest first, while `wanted()`
        (asked before each; entries pushed meanwhile count)."""
        heap = self._heaps[kind]
        while heap and heap[0][0] <= now and wanted():
            yield heapq.heappop(heap)

    def block(self, sub_id: int, kind: Waiting, item_id: int) -> None:
        """Her work found due while she is on a call: it waits for the call's end."""
        self._blocked.setdefault(sub_id, []).append((kind, item_id))

    def unblock(self, sub_id: int) -> list[tuple[Waiting, int]]:
        """Her waiting work, taken out (the store pushes it again at its due time)."""
        return self._blocked.pop(sub_id, [])

    def next_wake(self, live: Callable[[int], bool]) -> datetime | None:
        """The earliest time in any queue; the leases of attempts no longer `live` are dropped
        first (a released call's lease wakes nobody)."""
        leases = self._heaps["lease"]
        while leases and not live(leases[0][1]):
            heapq.heappop(leases)
        times = [h[0][0] for h in self._heaps.values() if h]
        return min(times) if times else None
