"""Where the time of one `ivr report --json` goes: the command run under cProfile in this
process (its output to /dev/null), at a fixed instant, then the report's own functions by
cumulative time (queries and the Python around them), and the wall of the whole.

    IVR_DATABASE=/tmp/ivr-report/10000000.db IVR_HOME=/tmp/h \
        .venv/bin/python bench/report_profile.py --code . --now 1796105000

--code: the checkout to profile (the code before: a git archive of it).
"""
from __future__ import annotations

import argparse
import cProfile
import contextlib
import datetime
import io
import os
import pstats
import sys
import time
from pathlib import Path

WATCHED = ("reports.py", "report_calls.py", "report_engagement.py", "report.py",
           "report_at_risk.py", "outreach.py", "reports_two_way.py", "report_two_way.py",
           "emit_json", "records.py", "store.py", "pg_store.py")


def _timed() -> dict[str, list]:
    """Wrap the report's queries and steps (module attributes, looked up when called) so
    that each one's wall time adds up in the returned table."""
    import importlib
    import inspect
    spent: dict[str, list] = {}

    def wrap(owner, name: str, label: str) -> None:
        fn = getattr(owner, name)
        cell = spent.setdefault(label, [0, 0.0])

        if inspect.iscoroutinefunction(fn):
            async def timed(*a, **k):
                t = time.perf_counter()
                try:
                    return await fn(*a, **k)
                finally:
                    cell[0] += 1
                    cell[1] += time.perf_counter() - t
        else:
            def timed(*a, **k):         # type: ignore[misc]
                t = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    cell[0] += 1
                    cell[1] += time.perf_counter() - t
        setattr(owner, name, timed)

    for mod in ("reports", "report_calls", "report_engagement", "outreach", "reports_two_way"):
        try:
            m = importlib.import_module(f"ivr.adapters.{mod}")
        except ImportError:
            continue
        for name, fn in list(vars(m).items()):
            if inspect.iscoroutinefunction(fn) and fn.__module__ == m.__name__:
                wrap(m, name, f"{mod}.{name}")
    report = importlib.import_module("ivr.operators.report")
    for name in ("_at_risk", "_flagged", "_promised_calls", "_programme_rows", "_women",
                 "_calls", "_callbacks", "answered_line", "answers_by_week",
                 "followups_by_worker", "outreach_calls", "at_risk_engagements"):
        if hasattr(report, name):
            wrap(report, name, f"report.{name}")
    try:                                # the at-risk list's own module (since h-report-2)
        listing = importlib.import_module("ivr.operators.report_at_risk")
    except ImportError:
        listing = None
    if listing is not None:
        for name in ("_flagged", "at_risk_list"):
            wrap(listing, name, f"report_at_risk.{name}")
        report.at_risk_list = listing.at_risk_list
    command = importlib.import_module("ivr.commands.report")
    common = importlib.import_module("ivr.commands.common")
    wrap(common, "emit_json", "emit_json")
    if hasattr(command, "emit_json"):
        command.emit_json = common.emit_json
    return spent


def _table(spent: dict[str, list]) -> None:
    print("wall per function (calls; nested ones counted in their callers too):")
    for name, (n, took) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        if n:
            print(f"  {took:7.2f} s  {n:5d}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", type=Path, required=True)
    ap.add_argument("--now", type=float, required=True)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--no-cprofile", action="store_true",
                    help="only the wall of each step (no profiler's overhead)")
    args = ap.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    import ivr.operators.session as session
    at = datetime.datetime.fromtimestamp(args.now, datetime.timezone.utc)
    session.utc_now = lambda: at        # type: ignore[assignment]
    from cli import main as cli
    spent = _timed()
    prof = cProfile.Profile()
    t = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        if not args.no_cprofile:
            prof.enable()
        try:
            cli(["report", "--json"], standalone_mode=False)
        finally:
            prof.disable()
    wall = time.perf_counter() - t
    cpu = time.process_time()
    print(f"wall {wall:.2f} s, process CPU {cpu:.2f} s, load {os.getloadavg()[0]:.1f}, "
          f"code {args.code}")
    if args.no_cprofile:
        _table(spent)
        return
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    stats.print_stats(r"|".join(w.replace(".", r"\.") for w in WATCHED), args.top)
    print("\n".join(line for line in out.getvalue().splitlines()
                    if line.strip() and not line.startswith("   Ordered")))
    _table(spent)
    print("by own time, everything:")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue().split("ncalls", 1)[-1])


if __name__ == "__main__":
    main()
