"""What the simulated phones cost: bench/nodes_bench.py's Asterisk CPU includes the far end
(Local/<number>@sim-phones runs in the node's own Asterisk), which a real carrier would carry.

On one node's Asterisk, set up exactly as bench/nodes_bench.py's (tests/nodes/harness.py, its
verbose log on), no `ivr run`, --calls raw AMI Originates (bench/service_blast.py, at --limit
live and --cps set-ups a second) of two kinds, each call as long as the IVR's call:

- phones:   Local/<number>@sim-phones -> Wait(<the flow's length>): the phone's dialplan
            (rings 1 s, answers, listens, its h extension), the Local channel pair, and a
            silent near end: what the far end costs without media;
- playback: Local/<number>@sim-phones -> Playback(the flow's sounds): the same plus the
            media the IVR's call plays, without the FastAGI conversation.

Asterisk's CPU per call of each, against the `ivr run` calls' in nodes.json, says how much of
a node's Asterisk CPU the phones take.

    ip netns exec <ns> .venv/bin/python bench/nodes_phones.py --out bench/results/nodes-phones.json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from nodes_bench import phones
from service_blast import run_blast
from service_common import ROOT, flow_playback, loadavg, make_sounds

from ivr.config import AmiSettings, home_dir
from ivr.sandbox import Sandbox
from tests.e2e.run_helpers import quick_programme
from tests.nodes.harness import Cluster


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--limit", type=int, default=100, help="live calls at most")
    p.add_argument("--cps", type=float, default=25.0)
    p.add_argument("--message", type=float, default=20.0, help="message length, seconds")
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per kind")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="np-"))
    shared = Sandbox(home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")}))
    programme = quick_programme(work, gaps={})
    playback, flow_s = flow_playback(make_sounds(work / "sounds", programme, args.message))
    results = []
    async with Cluster(work, shared, work / "sounds", programme, [None]) as cluster:
        box = cluster.nodes[0].box
        user, secret = box.test_user()
        ami = AmiSettings(port=box.ports.ami_port, username=user, secret=secret)
        pid = box.status().pid
        timeout = args.calls / args.cps + 3 * (flow_s + 30)
        for kind, application, data in (("phones", "Wait", f"{flow_s:.2f}"),
                                        ("playback", "Playback", playback)):
            print(f"{kind}: load {loadavg()}", file=sys.stderr, flush=True)
            figures = await run_blast(ami, pid, phones(args.calls), args.limit, data, flow_s,
                                      timeout, cps=args.cps, application=application)
            result = {"kind": kind, "flow_s": round(flow_s, 2), "calls": args.calls,
                      "failures": figures["failures"], "call_s": figures["call_s"],
                      "completion_s": figures["completion_s"], **figures["cpu"]}
            results.append(result)
            print(json.dumps(result), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
    return results


if __name__ == "__main__":
    asyncio.run(main(arguments()))
