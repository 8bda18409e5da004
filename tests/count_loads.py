"""`python -m tests.count_loads ARGS...`: run `ivr ARGS...` in this process, counting how often
the configuration and the programme are loaded, the database opened and a scheduling store
(Schedules) built; the counts go to standard output as the last line (JSON), after the command's own
output. The proof that one composition root builds each of them once."""
from __future__ import annotations

import importlib
import json
import sys
from collections import Counter

import click

import cli
from ivr.adapters.schedules import Schedules
from ivr.adapters.store import Store
from ivr.config import load_config
from scheduler.programme import load_programme

calls: Counter[str] = Counter()


def counted(name, function):
    def wrapper(*args, **kwargs):
        calls[name] += 1
        return function(*args, **kwargs)
    return wrapper


def count_everywhere(name: str, original) -> None:
    """Every module's reference to `original` (imported by name or not) goes through the count."""
    wrapper = counted(name, original)
    for module in list(sys.modules.values()):
        if getattr(module, original.__name__, None) is original:
            setattr(module, original.__name__, wrapper)


def main(argv: list[str]) -> int:
    for name in ("ivr.app", "ivr.demo", "ivr.operators.session", "ivr.status", "ivr.service"):
        importlib.import_module(name)          # every module that loads something, before counting
    count_everywhere("config", load_config)
    count_everywhere("programme", load_programme)
    Store.open = classmethod(counted("store", Store.open.__func__))
    # the scheduling store a command builds: a Schedules (its one ScheduleStore per programme
    # are its parts; nothing else in ivr/ builds one: test_schedules_are_built_only_by_schedules)
    Schedules.__init__ = counted("schedule", Schedules.__init__)
    try:
        cli.main(argv, prog_name="ivr", standalone_mode=False)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except click.ClickException as e:          # the command's own error, shown as click would
        e.show()
        code = e.exit_code
    print(json.dumps(dict(calls)), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
