"""Run many independent audio jobs on every core (processes: the work is CPU-bound)."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Sequence, TypeVar

J = TypeVar("J")
R = TypeVar("R")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:       # not Linux
        return max(1, os.cpu_count() or 1)


def run_all(fn: Callable[[J], R], jobs: Sequence[J], workers: int | None = None,
            on_done: Callable[[R], None] | None = None) -> list[R]:
    """fn(job) for every job, in `workers` processes; results in the order of `jobs`.

    fn must be a module-level function that returns its failures as values (it runs in another
    process). With one job or one worker everything runs here, with no pool to start."""
    workers = default_workers() if workers is None else max(1, workers)
    results: list[R | None] = [None] * len(jobs)
    if workers == 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            result = results[i] = fn(job)
            if on_done:
                on_done(result)
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_done:
                on_done(result)
    return results  # type: ignore[return-value]
