"""Issue 4's benchmark of the calling service, side by side in one run on a PRIVATE sandbox
Asterisk (its own home in a temp dir and free ports; the unpacked Asterisk of var/ is reused):

  1. dialer     ivr.service.Dialer places BATCH scheduled calls of a MESSAGE-second message
                (FastAGI flow), trunk limit LIMIT channels and CPS set-ups a second
     ivr-run    the same batch placed by an `ivr run --until-idle` process (its CPU per call)
  2. blast      the same batch as raw AMI Originates, all at once up to LIMIT live, no pacing
  3. blast-cps  the same, paced at CPS set-ups a second (the dialer's pace)
  4. callfiles  the same batch as .call files renamed into spool/outgoing at once
  5. missed     MISSED missed calls from sipp at MISSED_RATE/s, each called back over PJSIP

The blast and the call files play what the dialer's calls play to a woman who presses
nothing (greeting, message, menu, 5 s, invalid, menu, 5 s, goodbye: the same files) with a
plain Playback, so the calls of every method last as long. A separate AMI watch process
records every method's calls the same way (Asterisk's view: first channel up to last down).

    .venv/bin/python bench/service_bench.py                       # everything (~10 min)
    .venv/bin/python bench/service_bench.py --parts dialer --batch 60 --limit 50 --message 10
    .venv/bin/python bench/service_bench.py --table results.json    # markdown tables of a run

Prints one JSON object per phase (stdout) and writes them all to --out (JSON).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_common import (ROOT, bench_config, flow_playback, loadavg,  # noqa: E402
                            make_sounds, private_sandbox, settle)
from service_blast import run_blast, run_call_files  # noqa: E402
from service_dialer import phones, run_dialer  # noqa: E402
from service_ivr_run import run_ivr_run  # noqa: E402
from service_missed import run_missed  # noqa: E402

from ivr.config import home_dir  # noqa: E402
from tests.e2e.run_helpers import quick_programme  # noqa: E402

PARTS = ("dialer", "ivr-run", "blast", "blast-cps", "callfiles", "missed")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated phases, from {', '.join(PARTS)}")
    p.add_argument("--batch", type=int, default=600, help="calls in the batch (600)")
    p.add_argument("--limit", type=int, default=500, help="trunk channel limit (500)")
    p.add_argument("--cps", type=float, default=50.0, help="trunk call set-ups a second (50)")
    p.add_argument("--message", type=float, default=60.0, help="message length, s (60)")
    p.add_argument("--missed", type=int, default=200, help="missed calls (200)")
    p.add_argument("--missed-rate", type=float, default=5.0, help="missed calls a second (5)")
    p.add_argument("--callback-channels", type=int, default=100,
                   help="carrier trunk channels for the callbacks (100)")
    p.add_argument("--callback-cps", type=float, default=20.0,
                   help="carrier trunk CPS for the callbacks (20)")
    p.add_argument("--no-watch", action="store_true",
                   help="no AMI watch process during the dialer phase (bench/compare.py's "
                        "controller CPU: only the dialer on Asterisk's AMI)")
    p.add_argument("--out", type=Path, default=None, help="write all results here (JSON)")
    p.add_argument("--table", type=Path, default=None,
                   help="print markdown tables of a results file written by --out, and exit")
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = [x for x in args.parts if x not in PARTS]
    if bad:
        p.error(f"unknown part(s) {bad}; choose from {', '.join(PARTS)}")
    for name in ("batch", "limit", "missed", "callback_channels"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("cps", "message", "missed_rate", "callback_cps"):
        if not getattr(args, name) > 0:
            p.error(f"--{name.replace('_', '-')} must be > 0")
    return args


def log_problems(path: Path, since: int) -> dict:
    """WARNING/ERROR lines Asterisk logged during a phase: count, and a few distinct ones
    (timestamps and channel names cut, so repeats collapse)."""
    if not path.exists():
        return {"problems": 0}
    with path.open("rb") as f:
        f.seek(since)
        lines = [ln for ln in f.read().decode(errors="replace").splitlines()
                 if "WARNING[" in ln or "ERROR[" in ln]
    kinds = Counter(re.sub(r"^\S+ \S+ |\[\d+\]|[0-9a-f]{8};\d|\d+", "#", ln)[:200]
                    for ln in lines)
    return {"problems": len(lines), "kinds": dict(kinds.most_common(5))}


async def main(args: argparse.Namespace) -> list[dict]:
    shared = home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")})
    results: list[dict] = []

    def report(name: str, figures: dict) -> None:
        figures = {"phase": name, **figures}
        results.append(figures)
        print(json.dumps(figures), flush=True)

    with tempfile.TemporaryDirectory(prefix="ivr-bench-", dir="/tmp") as tmp:
        work = Path(tmp)
        programme = quick_programme(work, gaps={})
        playback, flow_s = flow_playback(make_sounds(work / "sounds-long", programme,
                                                     args.message))
        short_sound_dir = work / "sounds-short"
        make_sounds(short_sound_dir, programme, 3.0)
        with private_sandbox(work, shared, rtp=(36000, 37999)) as box:
            pid = box.status().pid
            report("setup", {"asterisk_pid": pid, "ami_port": box.ports.ami_port,
                             "sip_port": box.ports.sip_port, "load": loadavg(),
                             "cpus": os.cpu_count(), "args": {k: v for k, v in vars(args).items()
                                                              if k != "out"}})
            sim = {"sim": {"channels": args.limit, "cps": args.cps, "ring_timeout": 30.0}}
            # the blast and the AMI watch log in as the sandbox's test observer: the
            # controller's user only gets the events of its own calls (eventfilter)
            user, secret = box.test_user()
            observer = replace(bench_config(box, database=work / "x.db",
                                            sounds=work / "sounds-long", programme=programme,
                                            trunks=sim).ami, username=user, secret=secret)
            timeout = args.batch / args.cps + 3 * (args.message + 30)
            log_at = 0
            for part in args.parts:
                waited = await settle(box)
                log_at = box.log_file.stat().st_size if box.log_file.exists() else 0
                if part == "dialer":
                    cfg = bench_config(box, database=work / "dialer.db",
                                       sounds=work / "sounds-long", programme=programme,
                                       trunks=sim)
                    figures = await run_dialer(cfg, pid, args.batch, timeout,
                                               None if args.no_watch else observer)
                elif part == "ivr-run":
                    cfg = bench_config(box, database=work / "ivr-run.db",
                                       sounds=work / "sounds-long", programme=programme,
                                       trunks=sim)
                    figures = await run_ivr_run(cfg, pid, work, args.batch, args.limit,
                                                args.cps, timeout)
                elif part in ("blast", "blast-cps"):
                    figures = await run_blast(observer, pid, phones(args.batch), args.limit,
                                              playback, flow_s, timeout,
                                              cps=args.cps if part == "blast-cps" else None)
                elif part == "callfiles":
                    figures = await run_call_files(box, observer, pid, phones(args.batch),
                                                   playback, flow_s, timeout, args.limit)
                else:
                    cfg = bench_config(
                        box, database=work / "missed.db", sounds=short_sound_dir,
                        programme=programme,
                        trunks={"carrier": {"channels": args.callback_channels,
                                            "cps": args.callback_cps, "ring_timeout": 30.0}})
                    figures = await run_missed(box, cfg, work, args.missed, args.missed_rate,
                                               args.missed / args.missed_rate + 120)
                report(part, {"settled_before_s": round(waited, 1), "flow_s": flow_s, **figures,
                              "asterisk_log": log_problems(box.log_file, log_at)})
    return results


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def like_for_like(phases: dict) -> list[str]:
    """Every method as Asterisk saw it (the AMI watch): same clock, same rule."""
    views = {n: phases[n]["asterisk_view"] for n in ("dialer", "blast", "blast-cps", "callfiles")
             if n in phases and "asterisk_view" in phases[n]}
    if not views:
        return []
    base = views.get("dialer", {}).get("completion_s")
    out = ["| Asterisk's view | first channel up -> last down (s) | vs dialer | call length "
           "p50 / max (s) | calls ended | first LIMIT up after (s) | refill: channel down -> "
           "next up p50 / p95 / max (s) |", "|---|---|---|---|---|---|---|"]
    for name, v in views.items():
        done, call, refill = v.get("completion_s"), v.get("call_s", {}), v.get("refill_s", {})
        vs = f"{100 * (base / done - 1):+.1f} %" if base and done and name != "dialer" else "-"
        out.append(f"| {name} | {done} | {vs} | {call.get('p50')} / {call.get('max')} | "
                   f"{v.get('channels_ended')} | {v.get('first_wave_up_s')} | "
                   f"{refill.get('p50')} / {refill.get('p95')} / {refill.get('max')} |")
    flow = next((phases[n].get("flow_s") for n in views if phases[n].get("flow_s")), None)
    if flow:
        out += ["", f"Each call plays {flow:.1f} s of sound (+ 1 s of ringing); \"vs dialer\" is "
                "how much longer the dialer took than that method (+) or shorter (-)."]
    return out


def markdown(results: list[dict]) -> str:
    phases = {r["phase"]: r for r in results}
    out = ["| | completion (s) | call length p50 / max (s) | failures | peak live | "
           "occupancy while backlog (from 1st call) | occupancy after limit reached | "
           "Python CPU (s) | Asterisk CPU (s) | Python / Asterisk | machine busy (cores), "
           "of which others | load before / after |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in ("dialer", "blast", "blast-cps", "callfiles"):
        r = phases.get(name)
        if r is None:
            continue
        o, c = r["occupancy"], r["cpu"]
        out.append(
            f"| {r['method']} | {r['completion_s']} | {r['call_s'].get('p50')} / "
            f"{r['call_s'].get('max')} | {r['failures']} of {r['batch']} | {o['peak_live']} | "
            f"{_pct(o['mean_occupancy_backlog'])} over {o['backlog_window_s']} s | "
            f"{_pct(o['mean_occupancy_after_full'])} over {o['full_window_s']} s "
            f"(min {o['min_live_after_full']}) | {c['own_cpu_s']} | {c['asterisk_cpu_s']} | "
            f"{_pct(c['own_share_of_asterisk'])} | {c['machine_busy_cores']}, "
            f"{c['others_cores']} | {c['load_before']} / {c['load_after']} |")
    r = phases.get("ivr-run")
    if r:
        out += ["", f"`ivr run --until-idle`: {r['attempts']} calls, {r['failures']} failures, "
                f"completion {r['completion_s']} s; process CPU {r['process']['cpu_s']} s = "
                f"**{r['cpu_ms_per_call']} ms per call** ({r['cpu_ms_per_call_less_idle']} ms "
                f"less an idle run's {r['idle_process']['cpu_s']} s), peak RSS "
                f"{r['process']['peak_rss_mb']} MB; Asterisk {r['asterisk_cpu_ms_per_call']} ms "
                "per call."]
    out += ["", *like_for_like(phases)]
    d = phases.get("dialer")
    if d:
        p = d["pacing"]
        out += ["", "| pacing (dialer) | value |", "|---|---|",
                f"| configured CPS | {p['configured_cps']} |",
                f"| achieved over the first {p['n']} set-ups | {p['achieved_cps']} "
                f"({_pct(p['error'])}) |",
                f"| most set-ups in any sliding second | {p['max_in_any_second']} |",
                f"| gap between set-ups p50 / p95 / max (s) | {p['gap_s']['p50']} / "
                f"{p['gap_s']['p95']} / {p['gap_s']['max']} |",
                f"| gaps > 1.5/CPS (between claims): count, excess (s) | {p.get('long_gaps')}, "
                f"{p.get('long_gaps_excess_s')} |",
                f"| mean excess of the other gaps (ms) | {p.get('short_gaps_mean_excess_ms')} |",
                f"| Python CPU per call (ms) | {d['cpu']['own_cpu_ms_per_call']} |",
                f"| Asterisk CPU per call (ms) | {d['cpu']['asterisk_cpu_ms_per_call']} |"]
    m = phases.get("missed")
    if m:
        a, b = m["latency_row_to_originate_s"], m["latency_invite_to_originate_s"]
        out += ["", "| missed call -> callback | n | min | p50 | p95 | max |",
                "|---|---|---|---|---|---|",
                f"| row written -> Originate (s) | {a['n']} | {a.get('min')} | {a.get('p50')} | "
                f"{a.get('p95')} | {a.get('max')} |",
                f"| sipp INVITE sent -> Originate (s) | {b['n']} | {b.get('min')} | "
                f"{b.get('p50')} | {b.get('p95')} | {b.get('max')} |",
                "", f"{m['missed_calls_sent']} missed calls at {m['rate_per_s']}/s "
                f"(sipp UAC exit {m['uac_exit']}), {m['missed_calls_recorded']} recorded "
                f"({m['recorded_by_fallback_script']} by the fallback script), "
                f"{m['callbacks']} callbacks, {m['callbacks_answered']} answered (sipp UAS exit "
                f"{m['uas_exit']}); trunk {m['trunk']['name']}: {m['trunk']['channels']} "
                f"channels, {m['trunk']['cps']} CPS; errors: {len(m['errors'])}."]
    return "\n".join(out)


if __name__ == "__main__":
    arguments_ = arguments()
    if arguments_.table:
        print(markdown(json.loads(arguments_.table.read_text())))
        sys.exit(0)
    started = time.time()
    out = asyncio.run(main(arguments_))
    print(json.dumps({"phase": "total", "wall_s": round(time.time() - started, 1)}))
    if arguments_.out:
        arguments_.out.write_text(json.dumps(out, indent=1) + "\n")
