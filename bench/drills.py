"""The four failure drills of issue 12 ("Proof"), each against a private sandbox Asterisk and a
real `ivr run` subprocess, with women on simulated phones that ring a few seconds then answer
and listen to an 8 s message:

  kill-run     kill -9 of `ivr run` with calls ringing and playing, started again after 5 s
               (deploy/ivr.service: Restart=on-failure, RestartSec=5)
  kill-test    kill -9 of an `ivr call test` mid-call while `ivr run` runs
  restart      Asterisk restarted mid-campaign (`core restart now` if the sandbox survives
               it, else stop + start)
  ami-kick     the service's AMI session kicked by Asterisk (`manager kick session`), with
               Asterisk up, while calls ring and play
  postgres-outage  the service on a private PostgreSQL, stopped (fast) while calls ring and
               play, started again OUTAGE_SECONDS later; `ivr status` is asked meanwhile

After each failure the campaign runs to its end (every woman's first message delivered or
not due again soon), the service is stopped with SIGTERM, and the drill counts duplicate
deliveries, lost attempts and women hung up on, from Asterisk's own view (bench/drill_parts.py;
the processes and files of a drill: bench/drill_run.py). Results: bench/results/drills.md.

    .venv/bin/python bench/drills.py [--women 20] [--drills kill-run,ami-kick] [--out FILE.md]

Run it inside a network namespace when other sandboxes run (`ip netns exec <ns> ...`).
Exit status 1 when a drill counts a duplicate, a lost attempt or a woman hung up on by us.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drill_parts import Failure, Result, count, describe, markdown, store_rows  # noqa: E402
from bench.drill_run import (CHANNELS, MESSAGE_SECONDS, RESTART_AFTER, STATUS_EVERY,  # noqa: E402
                             TEST_PHONE, VAR, Drill, private_cluster)
from bench.service_common import MESSAGE_KEY, loadavg, make_sounds, private_sandbox  # noqa: E402
from ivr.sandbox import Sandbox, SandboxError  # noqa: E402
from ivr.sandbox.run_home import free_tcp_port  # noqa: E402
from tests.e2e.run_helpers import quick_programme  # noqa: E402

DRILLS = ("kill-run", "kill-test", "restart", "ami-kick", "postgres-outage")
ON_POSTGRES = {"postgres-outage"}
OUTAGE_SECONDS = 20.0


# ---------------------------------------------------------------------- the four failures
async def kill_run(d: Drill, r: Result) -> Failure:
    service = await d.start_service("run-1")
    await d.calls_in_flight()
    service.send_signal(signal.SIGKILL)
    at = time.time()
    await service.wait()
    await asyncio.sleep(RESTART_AFTER)
    restart = time.time()
    d.service = await d.start_service("run-2")

    async def ready():          # its status file: FastAGI served, AMI logged in
        return d.status.get("pid") == d.service.pid
    await d.until(ready, 30, "restarted service")
    back = time.time()
    d.resume_from = restart
    r.notes.append(f"restarted {RESTART_AFTER:.0f} s after the kill (systemd RestartSec), "
                   f"serving {back - restart:.1f} s later; resume counted from the restart")
    return Failure(at, back, None)


async def kill_test(d: Drill, r: Result) -> Failure:
    test_cfg = d.home / "call-test.toml"
    text = (d.home / "ivr.toml").read_text()
    port = text.split("[agi]\nport = ")[1].split("\n")[0]
    test_cfg.write_text(text.replace(f"[agi]\nport = {port}", f"[agi]\nport = {free_tcp_port()}"))
    d.service = await d.start_service("run-1")
    test = await d.spawn("--config", str(test_cfg), "call", "test", "--to", "+" + TEST_PHONE,
                         "--lang", "hi", "--message", MESSAGE_KEY, tag="call-test")

    def test_id() -> int | None:
        rows = store_rows(d.db, "SELECT id FROM attempts WHERE kind = 'test'")
        return rows[0][0] if rows else None

    def test_playing() -> bool:
        tid = test_id()
        call = d.watch.calls.get(tid) if tid is not None else None
        return call is not None and call in d.watch.playing(d.message_end, time.time())

    await d.calls_in_flight(test_playing)
    tid = test_id()
    test.send_signal(signal.SIGKILL)
    at = time.time()
    await test.wait()
    d.test_attempt, d.test_killed_at = tid, at
    d.tasks.append(asyncio.create_task(watch_row(d, tid)))
    d.resume_from = None
    r.notes.append("`ivr run` kept running")
    return Failure(at, None, {tid})


async def watch_row(d: Drill, attempt_id: int) -> None:
    """When the killed test call's row is closed, and by whom (the running service or not)."""
    while True:
        rows = await asyncio.to_thread(store_rows, d.db,
                                       "SELECT outcome FROM attempts WHERE id = ?", (attempt_id,))
        if rows and rows[0][0] is not None:
            d.test_closed_at = time.time()
            return
        await asyncio.sleep(0.5)


async def restart_asterisk(d: Drill, r: Result) -> Failure:
    d.service = await d.start_service("run-1")
    await d.calls_in_flight()
    box, logins = d.box, len(d.watch.logins)
    pid = box.status().pid
    at = time.time()
    try:
        await asyncio.to_thread(box.cli, "core restart now", 5)
    except SandboxError:
        pass                              # the CLI loses its Asterisk as it goes
    method = "core restart now"
    async with asyncio.timeout(30):
        while len(d.watch.logins) == logins:
            status = await asyncio.to_thread(box.status)
            if not status.running or status.pid != pid:
                await asyncio.sleep(1.0)
                if not (await asyncio.to_thread(box.status)).running:
                    method = "stop + start (`core restart now` left no Asterisk running)"
                    await asyncio.to_thread(box.stop)
                    await asyncio.to_thread(box.start)
            await asyncio.sleep(0.1)
    back = d.watch.logins[-1]
    d.resume_from = back
    r.notes.append(f"{method}; Asterisk down {back - at:.1f} s")
    return Failure(at, back, None)


async def kick_ami(d: Drill, r: Result) -> Failure:
    d.service = await d.start_service("run-1")
    await d.calls_in_flight()
    fd = service_session(d.box)
    at = time.time()
    out = await asyncio.to_thread(d.box.cli, f"manager kick session {fd}")
    said = [ln for ln in out.splitlines() if ln.strip() and "global EID" not in ln]
    if said:
        r.notes.append(f"the kick said: {' '.join(said)[:80]}")

    async def relogged():
        return await asyncio.to_thread(service_session, d.box, fd)
    await d.until(relogged, 30, "AMI login of the service after the kick")
    back = time.time()
    d.resume_from = back
    await asyncio.sleep(STATUS_EVERY)
    live = sum(t["live"] for t in d.status.get("trunks", {}).values())
    r.notes.append(f"the service logged in again {back - at:.1f} s after the kick, with "
                   f"{live}/{CHANNELS} calls live" + (" (trunk full: the next Originate waits "
                                                       "for a free channel)"
                                                       if live >= CHANNELS else ""))
    return Failure(at, back, set())


def service_session(box: Sandbox, other_than: str | None = None) -> str | None:
    """The file descriptor of the service's AMI session (user ivr) in `manager show
    connected`, None when it has none (other than `other_than`)."""
    for line in box.cli("manager show connected").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "ivr" and parts[4].isdigit() \
                and parts[4] != other_than:
            return parts[4]
    return None


async def stop_postgres(d: Drill, r: Result) -> Failure:
    assert d.cluster is not None
    d.service = await d.start_service("run-1")
    await d.calls_in_flight()
    at = time.time()
    await asyncio.to_thread(d.cluster.stop, "fast")
    # what `ivr status` says meanwhile (it waits for the database up to its open timeout)
    status = await d.spawn("status", tag="status-during-outage")
    await asyncio.sleep(max(at + OUTAGE_SECONDS - time.time(), 0.0))   # the outage itself
    await asyncio.to_thread(d.cluster.restart)
    back = time.time()
    await asyncio.wait_for(status.wait(), 30)
    d.resume_from = back
    r.notes.append(f"PostgreSQL stopped (fast) for {back - at:.1f} s")
    return Failure(at, back, set())         # the database's absence may end no call


FAILURES = {"kill-run": kill_run, "kill-test": kill_test, "restart": restart_asterisk,
            "ami-kick": kick_ami, "postgres-outage": stop_postgres}


# ---------------------------------------------------------------------- one drill
async def run_drill(name: str, women: int, base: Path, sounds: Path, programme: Path) -> Result:
    r = Result(name)
    work = base / name
    with private_sandbox(work, VAR, rtp=(34000, 34999), sounds=sounds) as box, \
            private_cluster(name in ON_POSTGRES) as cluster:
        d = Drill(name, work, box, sounds, programme, cluster)
        d.women = women
        try:
            await d.open(women)
            failure = await FAILURES[name](d, r)
            r.live_at_failure = ringing, answered = d.live_at_failure
            r.notes.insert(0, f"at the failure {ringing} ringing, {answered} answered")
            await d.finish_campaign()
            await d.stop(d.service)
            left = [ln for ln in box.cli("core show channels concise").splitlines() if "ivr-" in ln]
            if left:
                r.notes.append(f"{len(left)} channel(s) of ours still up after the stop")
            await asyncio.sleep(1.0)                 # the last SimPhoneEnded events
            d.check_alive()
            r.counts = count(d.db, d.watch.calls, failure, d.message_end, women)
            r.failed_at, r.back_at = failure.at, failure.back
            r.phones_ended = sum(c.end_seen for c in d.watch.calls.values())
            r.notes.append(phone_view(d))
            if r.counts.never_placed:
                reasons = sorted({why.split(": ")[-1] for _, why in r.counts.never_placed})
                r.notes.append(f"{r.counts.rows} attempt rows, {len(r.counts.never_placed)} of "
                               f"them never placed ({'; '.join(reasons)[:80]}), closed as failed: "
                               "each cost her an attempt")
            if d.resume_from is not None:
                r.resume = d.first_originate_after(d.resume_from)
            await after(d, r, failure)
        except Exception as e:                       # noqa: BLE001 - reported in the table
            r.error = f"{type(e).__name__}: {e}"[:600]
        finally:
            await d.close()
        report_details(d, r)
    return r


async def after(d: Drill, r: Result, failure: Failure) -> None:
    r.notes.append("trunk rested: " + (", ".join(d.rested) if d.rested else "no"))
    if d.name != "kill-test":
        return
    closed = getattr(d, "test_closed_at", None)
    if closed is not None:
        r.notes.append(f"killed test call's row closed by the running service "
                       f"{closed - d.test_killed_at:.1f} s after the kill")
        return
    r.notes.append(f"killed test call's row still live after {time.time() - d.test_killed_at:.0f} s"
                   " of `ivr run`")
    start = time.time()
    proc = await d.start_service("run-2", "--until-idle")
    try:
        await asyncio.wait_for(proc.wait(), 60)
    except asyncio.TimeoutError:
        r.notes.append("`ivr run --until-idle` after it did not end in 60 s")
        return
    rows = store_rows(d.db, "SELECT outcome FROM attempts WHERE id = ?", (d.test_attempt,))
    if rows and rows[0][0] is not None:
        r.notes.append(f"the next start of `ivr run` closed it ({rows[0][0]}, "
                       f"{time.time() - start:.1f} s after that start)")
    else:
        r.notes.append("the next start of `ivr run` did NOT close it")


def phone_view(d: Drill) -> str:
    """What the phones said: evidence that Asterisk's own view was collected."""
    calls = d.watch.calls.values()
    answered = [c for c in calls if c.answered_at is not None]
    talks = [c.talked for c in answered if c.talked is not None]
    shortest = f", shortest talk {min(talks):.1f} s" if talks else ""
    return (f"phones: {len(answered)} answered, {sum(c.end_seen for c in calls)} "
            f"SimPhoneEnded{shortest}")


def report_details(d: Drill, r: Result) -> None:
    t0 = getattr(d, "t0", time.time())
    c = r.counts
    if c is not None:
        for label, calls in (("hung up by us", c.cut_by_us),
                             ("hung up by the failure", c.cut_by_failure)):
            r.details += [f"{label}: {describe(call, t0)}" for call in calls]
        r.details += [f"duplicate delivery: woman {s}" for s in c.duplicates]
        r.details += [f"lost attempt: {a}" for a in c.lost]
        r.details += [f"answered twice (the first cut short): woman {s}" for s in c.answered_twice]
        r.details += [f"delivered (the store) though her message never played to its end: "
                      f"woman {s}" for s in c.delivered_unheard]
        r.details += [f"never placed (no channel in Asterisk), closed as failed: attempt {i}: "
                      f"{why[:90]}" for i, why in c.never_placed]
    if r.error or (c is not None and not r.clean):
        r.details += ["log: " + line for line in d.log_lines()]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--women", type=int, default=20, help="women per drill (default 20, >= 2)")
    p.add_argument("--drills", default=",".join(DRILLS),
                   help=f"comma-separated, of {', '.join(DRILLS)} (default: all)")
    p.add_argument("--out", type=Path, help="also write the table to this markdown file")
    p.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    args = p.parse_args(argv)
    args.drills = [x.strip() for x in args.drills.split(",") if x.strip()]
    bad = [x for x in args.drills if x not in DRILLS]
    if bad or not args.drills:
        p.error(f"unknown drill(s) {', '.join(bad) or '(none)'}; choose from {', '.join(DRILLS)}")
    if args.women < 2:
        p.error("--women must be at least 2")
    return args


async def run_all(args: argparse.Namespace, base: Path) -> list[Result]:
    programme = quick_programme(base, gaps={"failed": "1s", "no_answer": "1s"})
    sounds = base / "sounds"
    make_sounds(sounds, programme, MESSAGE_SECONDS)
    results = []
    for name in args.drills:
        started = time.time()
        results.append(await run_drill(name, args.women, base, sounds, programme))
        print(f"drills: {name} done in {time.time() - started:.0f} s "
              f"({'clean' if results[-1].clean else 'NOT clean'})", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if not (VAR / "sandbox" / "prefix" / ".provisioned").exists():
        print("drills: no sandbox Asterisk under var/sandbox/prefix: run "
              "`.venv/bin/ivr sandbox provision` first", file=sys.stderr)
        return 1
    base = Path(tempfile.mkdtemp(prefix="ivr-drills-"))
    started, load = time.time(), loadavg()
    try:
        results = asyncio.run(run_all(args, base))
    finally:
        if args.keep:
            print(f"drills: working files kept in {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    table = markdown(results, args.women)
    print(table)
    print(f"drills: {time.time() - started:.0f} s, load average {load} -> {loadavg()}",
          file=sys.stderr)
    if args.out:
        args.out.write_text(table)
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
