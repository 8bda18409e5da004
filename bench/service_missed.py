"""Benchmark phase 4: missed call -> callback latency.

N enrolled women (their scheduled message not due: only a missed call makes a call), the
carrier trunk pointing at a sipp UAS that answers N calls; a sipp UAC rings the service
number N times at R calls/s, one caller per call (an -inf CSV file), and the dialplan rejects
each without answering. The calling service (Dialer, in this process) calls each woman back.

Latency per callback = attempts.started_at (Originate sent) - missed_calls.received_at (the
time the dialplan's fallback AGI script spooled the call: its file's received_at; the
controller ingests the file on the IvrMissedCall event). Also reported: from the moment sipp sent
her INVITE (sipp's -trace_msg log) to the Originate, which adds the dialplan's time (Ringing,
the fallback script's start-up) to the above. (AMI's event Timestamp is not used for this: it
is stamped when the manager thread writes the event, which lags under load.)
"""
from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from service_common import SIPP_DIR, Meter, free_port, spread
from service_dialer import phones

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.app import running
from ivr.config import Config
from ivr.intake import prepare_spool
from ivr.sandbox import Sandbox
from ivr.service import Dialer
from scheduler.programme import load_programme
from tests.e2e.run_helpers import woman_on

DID = "18001234567"


def udp_bound(port: int) -> bool:
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:])


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


def invites_sent(log: Path) -> dict[str, float]:
    """caller digits -> when sipp first sent her INVITE (its -trace_msg log, local time)."""
    sent: dict[str, float] = {}
    for block in log.read_text(errors="replace").split("-" * 47 + " ")[1:]:
        stamp, _, rest = block.partition("\n")
        if "message sent" not in rest.split("\n", 1)[0] or "\nINVITE " not in rest:
            continue
        caller = re.search(r"^From: .*<sip:\+?(\d+)@", rest, re.MULTILINE)
        if caller and caller.group(1) not in sent:
            sent[caller.group(1)] = datetime.strptime(
                stamp.strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return sent


def uac_scenario(work: Path) -> Path:
    """The project's missed-call UAC with one caller per call: [caller] becomes the first
    field of the -inf injection file."""
    text = (SIPP_DIR / "uac_missed.xml").read_text()
    path = work / "uac_missed_inf.xml"
    path.write_text(text.replace("[caller]", "[field0]"))
    return path


async def run_missed(box: Sandbox, cfg: Config, work: Path, n: int, rate: float,
                     timeout: float) -> dict:
    programme = load_programme(cfg.programme)
    trunk = cfg.trunk("carrier")
    prepare_spool(cfg.spool)
    numbers = phones(n)
    inf = work / "callers.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"+{p};\n" for p in numbers))
    port = box.ports.sipp_port
    if udp_bound(port):
        raise RuntimeError(f"UDP {port} (the carrier trunk's phone) is taken")
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", str(n), "-nostdin", "-timeout", str(int(timeout)),
        "-timeout_error", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        cwd=work)
    try:
        await wait_for(lambda: _true(udp_bound(port)), 10, "the sipp UAS")
        async with running(cfg, agi_port=0) as service:
            schedule = ScheduleStore(service.store, programme)
            now = datetime.now(timezone.utc)
            await schedule.enrol_many([Enrolment(woman_on(p, now)) for p in numbers], now,
                                      actor="bench")
            await service.store.execute(
                "UPDATE deliveries SET next_attempt_at = next_attempt_at + 86400")
            dialer = Dialer(service, schedule, [trunk],
                            lease_seconds=programme.retry.lease.total_seconds())
            stop = asyncio.Event()
            loop = asyncio.create_task(dialer.run(stop))
            meter = Meter(box.status().pid).start()
            uac = await asyncio.create_subprocess_exec(
                "sipp", f"127.0.0.1:{box.ports.sip_port}", "-sf", str(uac_scenario(work)),
                "-s", DID, "-inf", str(inf), "-key", "spool", str(cfg.spool),
                "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port(span=4)),
                "-r", f"{rate:g}", "-m", str(n), "-nostdin", "-timeout", str(int(timeout)),
                "-timeout_error", "-trace_msg", "-message_file", str(work / "uac_messages.log"),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, cwd=work)
            _, uac_err = await asyncio.wait_for(uac.communicate(), timeout)
            uac_sent = time.time() - meter.t0

            async def all_ended() -> bool:
                rows = await service.store.fetchall(
                    "SELECT COUNT(*) FROM attempts WHERE kind = 'callback' AND outcome IS NOT NULL")
                return rows[0][0] >= n
            try:
                await wait_for(all_ended, timeout, f"{n} callbacks to end")
            finally:
                stop.set()
                await asyncio.wait_for(loop, 60)
                meter.stop()
            rows = await service.store.fetchall(
                "SELECT m.received_at, a.phone, a.started_at, a.outcome, a.heard_share "
                "FROM missed_calls m JOIN attempts a ON a.callback_id = m.callback_id "
                "WHERE m.did = ? AND a.kind = 'callback'", (DID,))
            missed = (await service.store.fetchall(
                "SELECT COUNT(*) FROM missed_calls WHERE did = ?", (DID,)))[0][0]
            by_script = (await service.store.fetchall(
                "SELECT COUNT(*) FROM missed_calls WHERE did = ? AND uniqueid IS NOT NULL",
                (DID,)))[0][0]
        uas_err = b""
        if uas.returncode is None:
            _, uas_err = await asyncio.wait_for(uas.communicate(), 60)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    latency = [r["started_at"] - r["received_at"] for r in rows]
    sent = invites_sent(work / "uac_messages.log")
    from_invite = [r["started_at"] - sent[r["phone"]] for r in rows if r["phone"] in sent]
    return {
        "missed_calls_sent": n, "rate_per_s": rate, "uac_exit": uac.returncode,
        "uac_seconds": round(uac_sent, 1), "uas_exit": uas.returncode,
        "uac_stderr": uac_err.decode(errors="replace")[-500:],
        "uas_stderr": uas_err.decode(errors="replace")[-500:],
        "missed_calls_recorded": missed, "recorded_by_fallback_script": by_script,
        "callbacks": len(rows),
        "callbacks_answered": sum(1 for r in rows if r["outcome"] == "answered"),
        "trunk": {"name": trunk.name, "channels": trunk.channels, "cps": trunk.cps},
        "latency_row_to_originate_s": spread(latency),
        "latency_invite_to_originate_s": spread(from_invite),
        "cpu": meter.figures(len(rows)),
        "errors": list(dialer.stats.errors),
    }


async def _true(value: bool) -> bool:
    return value
