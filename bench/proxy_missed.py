"""docs/scale.md's Kamailio example, run: missed calls through the dispatcher to a node (issue 14).

    ip netns exec <ns> .venv/bin/ivr sandbox start          # the node: the sandbox Asterisk
    ip netns exec <ns> .venv/bin/python bench/proxy_missed.py --calls 10

Takes the dispatcher.list and kamailio.cfg blocks of docs/scale.md as they are written there
(so the doc's example is what runs), changes only what a test needs (Kamailio listens on
127.0.0.1:5070, the missed-call DID, the list file's path) and replaces the destination set 1
by three nodes: a dead one (127.0.0.1:5099, nothing listens) and the sandbox's Asterisk twice
(two entries, one Asterisk: were a reject ever failed over, that missed call would be
recorded twice); set 2 (the line she calls, not rung here) becomes the sandbox's Asterisk.
Then sipp rings the DID through the proxy CALLS times, one call after the other, each with a
private spool named in X-Ivr-Test-Spool (the sandbox's missed-call fallback writes one file
per call there), and reports: each call's time from sipp's start to
its exit, the calls that waited for the dead node (fr_timer), sipp's exit codes (0: a reject,
never answered) and the spool files written (one per call, never two).
Needs Debian's `kamailio` package (apt-get install kamailio) and sipp.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scale.md"
SIPP = ROOT / "dialplan" / "sandbox" / "sipp" / "uac_missed.xml"
PROXY_PORT = 5070
DEAD_PORT = 5099
DID = "18005550100"


def doc_blocks() -> tuple[str, str]:
    """The example dispatcher.list and kamailio.cfg, as docs/scale.md writes them."""
    blocks = re.findall(r"```\n(.*?)```", DOC.read_text(), re.S)
    listing = next(b for b in blocks if b.startswith("# /etc/kamailio/dispatcher.list"))
    cfg = next(b for b in blocks if b.startswith("# kamailio.cfg"))
    return listing, cfg


def write_config(work: Path, node: str) -> Path:
    listing, cfg = doc_blocks()
    assert listing.count("\n1 sip:") == 3 and listing.count("\n2 sip:") == 3, listing
    (work / "dispatcher.list").write_text("\n".join([
        f"1 sip:127.0.0.1:{DEAD_PORT} 0 0",           # a node that never answers
        f"1 sip:{node} 0 0",
        f"1 sip:{node};copy=2 0 0",                   # the same Asterisk, a second entry
        f"2 sip:{node} 0 0 duid=node1;maxload=100", ""]))    # the line she calls: the node
    cfg = (cfg.replace("/etc/kamailio/dispatcher.list", str(work / "dispatcher.list"))
              .replace("MISSED_CALL_DID", DID))
    path = work / "kamailio.cfg"
    path.write_text(f"#!KAMAILIO\nlisten=udp:127.0.0.1:{PROXY_PORT}\nchildren=2\n"
                    f"log_stderror=yes\n{cfg}")
    return path


def udp_bound(port: int) -> bool:
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:])


def ring(i: int, spool: Path, work: Path) -> dict[str, float | int]:
    began = time.perf_counter()
    out = subprocess.run(
        ["sipp", f"127.0.0.1:{PROXY_PORT}", "-sf", str(SIPP), "-s", DID,
         "-key", "caller", f"98765{i:05d}", "-key", "spool", str(spool), "-m", "1",
         "-p", str(5200 + i), "-mp", str(30000 + 4 * i), "-timeout", "20", "-nostdin"],
        cwd=work, capture_output=True, text=True)
    return {"call": i, "seconds": round(time.perf_counter() - began, 3),
            "sipp_exit": out.returncode}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--node", default="127.0.0.1:5060", help="the sandbox Asterisk's SIP")
    args = ap.parse_args()
    if not shutil.which("kamailio"):
        sys.exit("kamailio is not installed (apt-get install kamailio)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spool = work / "spool"
        spool.mkdir()
        spool.chmod(0o777)
        cfg = write_config(work, args.node)
        log = (work / "kamailio.log").open("w")
        proxy = subprocess.Popen(
            ["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(work), "-P",
             str(work / "kamailio.pid")], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while not udp_bound(PROXY_PORT):
                if proxy.poll() is not None or time.monotonic() > deadline:
                    sys.exit("kamailio did not start:\n" + (work / "kamailio.log").read_text())
                time.sleep(0.1)
            calls = [ring(i, spool, work) for i in range(args.calls)]
            deadline = time.monotonic() + 15
            while len(list(spool.iterdir())) < args.calls and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)                               # a late second record would show here
            files = sorted(p.name for p in spool.iterdir())
        finally:
            proxy.terminate()
            proxy.wait(10)
            log.close()
        down = [line.strip() for line in (work / "kamailio.log").read_text().splitlines()
                if "node down" in line]
    usual = sorted(float(c["seconds"]) for c in calls)[len(calls) // 2]
    slow = [c for c in calls if float(c["seconds"]) > usual + 1.5]   # fr_timer is 2 s
    print(json.dumps({"calls": calls, "median_seconds": usual,
                      "sipp_exit_nonzero": sum(1 for c in calls if c["sipp_exit"]),
                      "waited_for_the_dead_node": [c["call"] for c in slow],
                      "spool_files": len(files), "node_down_log": down}, indent=1))


if __name__ == "__main__":
    main()
