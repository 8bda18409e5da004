"""Drive a pure in-call machine (ivr/flow.py, ivr/questions.py) with a script of events."""
from __future__ import annotations

from typing import Any, Callable, Iterable


def drive(machine: Any, events: Iterable[Any], end: type, describe: Callable[[Any], str]):
    """Feed events in order until an `end` action; the actions seen (as short strings) and
    the result it carries. Fails when the script runs out or has events left over."""
    seen: list[str] = []
    action = machine.start()
    events = list(events)
    while not isinstance(action, end):
        seen.append(describe(action))
        assert events, f"script ran out after {seen}"
        action = machine.step(events.pop(0))
    assert not events, f"events left over: {events}"
    return seen, action.result
