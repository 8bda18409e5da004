"""Pieces of the failure drills (bench/drills.py): Asterisk's own view of the calls (an AMI
listener of our own), the store's view, the counts and the table.

Asterisk's view: every call the service places has the channel ids ivr-<attempt>-<nonce>
(the Local channel's first half) and ivr-<attempt>-<nonce>-2 (the phone's side, in the
sandbox's sim-phones context). The sim phone sends UserEvent SimPhoneEnded when its channel
ends, with how long it talked since its own Answer() (dialplan/sandbox/extensions.conf).
Benchmark tooling only: nothing in the project imports it.
"""
from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ivr import constants as C
from ivr.adapters import pg_sql
from ivr.adapters.pg_store import row_factory as pg_row

OUR_CHANNEL = re.compile(r"^ivr-(\d+)-[0-9a-f]+$")
PHONE_SIDE = re.compile(r"^ivr-(\d+)-[0-9a-f]+-2$")
PROMPT_SECONDS = 0.3            # every prompt of the drill's catalogue
GRACE = 1.0                     # seconds: an end this close after a failure window is its


# ---------------------------------------------------------------------- Asterisk's view
@dataclass
class PhoneCall:
    """One call as Asterisk saw it (times are Asterisk's event timestamps)."""
    attempt_id: int
    placed_at: float
    answered_at: float | None = None         # the phone's side went Up
    ended_at: float | None = None            # SimPhoneEnded (or the phone channel's Hangup)
    talked: float | None = None              # the phone's own count since its Answer()
    cause: str = ""
    end_seen: bool = False                   # SimPhoneEnded came (not inferred)
    estimated: bool = False                  # talked from the events' times, not the phone


@dataclass
class AmiWatch:
    """Our own AMI session as the sandbox's test observer (Events: call,user), logging in
    again 0.1 s after any loss. `logins` are the times Asterisk accepted our login."""
    port: int
    username: str
    secret: str
    calls: dict[int, PhoneCall] = field(default_factory=dict)
    logins: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), 5)
                await asyncio.wait_for(reader.readline(), 5)                  # the banner
                writer.write(f"Action: Login\r\nActionID: drill\r\nUsername: {self.username}\r\n"
                             f"Secret: {self.secret}\r\nEvents: call,user\r\n\r\n".encode())
                reply = await asyncio.wait_for(read_block(reader), 5)
                if reply.get("Response") != "Success":
                    raise ConnectionError(f"AMI login refused: {reply}")
                self.logins.append(time.time())
                self.connected.set()
                while True:
                    self.on_event(await read_block(reader))
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                pass
            finally:
                if self.connected.is_set():
                    self.losses.append(time.time())
                self.connected.clear()
                if writer is not None:
                    writer.close()
            await asyncio.sleep(0.1)

    def on_event(self, e: dict[str, str]) -> None:
        name, uid = e.get("Event"), e.get("Uniqueid", "")
        at = float(e.get("Timestamp") or time.time())
        if name == "Newchannel" and (m := OUR_CHANNEL.match(uid)):
            self.calls.setdefault(int(m.group(1)), PhoneCall(int(m.group(1)), at))
            return
        m = PHONE_SIDE.match(uid)
        call = self.calls.get(int(m.group(1))) if m else None
        if call is None:
            return
        if name == "Newstate" and e.get("ChannelState") == "6" and call.answered_at is None:
            call.answered_at = at
        elif name == "UserEvent" and e.get("UserEvent") == C.USEREVENT_SIM_PHONE_ENDED:
            call.ended_at, call.end_seen, call.cause = at, True, e.get("Cause", "")
            if e.get("Answered") == "yes" and e.get("Talked"):
                call.talked = float(e["Talked"])
        elif name == "Hangup" and call.ended_at is None:
            call.ended_at = at

    def ringing(self) -> list[PhoneCall]:
        return [c for c in self.calls.values() if c.answered_at is None and c.ended_at is None]

    def answered(self) -> list[PhoneCall]:
        return [c for c in self.calls.values() if c.answered_at is not None and c.ended_at is None]

    def playing(self, message_end: float, now: float) -> list[PhoneCall]:
        """Answered at least a second ago, not ended, and the message not over yet."""
        return [c for c in self.calls.values() if c.answered_at is not None
                and c.ended_at is None and 1.0 <= now - c.answered_at < message_end - 1.0]


async def read_block(reader: asyncio.StreamReader) -> dict[str, str]:
    block: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        text = line.decode(errors="replace").rstrip("\r\n")
        if not text:
            if block:
                return block
            continue
        key, _, value = text.partition(":")
        block[key.strip()] = value.strip()


# ---------------------------------------------------------------------- the store's view
def store_rows(db: Path | str, sql: str, args: tuple = ()) -> list[Any]:
    """A short read of the service's database (WAL: never blocks the service); `db` a
    PostgreSQL connection string: the same statement, translated as the PostgreSQL store
    translates it (ivr/adapters/pg_sql.py)."""
    if isinstance(db, str):
        with psycopg.connect(db, autocommit=True, cursor_factory=psycopg.ClientCursor,
                             connect_timeout=10) as pg:
            cur = pg.cursor(row_factory=pg_row)
            return cur.execute(pg_sql.statement(sql), args).fetchall()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def first_deliveries(db: Path) -> list[sqlite3.Row]:
    """Each woman's first message (her earliest due delivery)."""
    return store_rows(db, "SELECT d.* FROM deliveries d WHERE d.id = (SELECT e.id FROM "
                          "deliveries e WHERE e.subscriber_id = d.subscriber_id "
                          "ORDER BY e.due_at, e.id LIMIT 1)")


def campaign_done(db: Path, now: float, soon: float = 20.0) -> bool:
    """No woman's call live, and every first message delivered or not due again soon."""
    if store_rows(db, "SELECT 1 FROM attempts WHERE outcome IS NULL AND subscriber_id IS NOT NULL"):
        return False
    return all(d["status"] != "pending" or (d["next_attempt_at"] or 0) > now + soon
               for d in first_deliveries(db))


# ---------------------------------------------------------------------- the counts
@dataclass
class Failure:
    """What the drill broke: from `at` to `back` (None: not over by itself) the failure may
    end calls in `scope` (None: every call; empty: none): those are the failure's, not ours."""
    at: float
    back: float | None
    scope: set[int] | None


@dataclass
class Counts:
    women: int
    placed: int
    delivered: int
    duplicates: list[int]                # subscriber ids
    lost: list[int]                      # attempt ids
    cut_by_us: list[PhoneCall]
    cut_by_failure: list[PhoneCall]
    answered_twice: list[int]            # subscribers answered twice (one of them cut short)
    delivered_unheard: list[int]         # delivered by the store, her message never played out
    never_placed: list[tuple[int, str]]  # attempt rows Asterisk never made a channel for
    rows: int = 0                        # attempt rows in the store


def count(db: Path, calls: dict[int, PhoneCall], failure: Failure, message_end: float,
          women: int) -> Counts:
    """message_end: seconds from her answer to the end of her message (greeting + message)."""
    rows = {r["id"]: r for r in store_rows(db, "SELECT * FROM attempts")}
    heard: dict[tuple[int, str], list[int]] = {}
    answered: dict[int, list[int]] = {}
    by_us, by_failure = [], []
    for call in calls.values():
        row = rows.get(call.attempt_id)
        if call.answered_at is None:
            continue
        if call.talked is None:
            # answered, then hung up before the phone's dialplan wrote ANSWERED_AT, or no
            # SimPhoneEnded at all (Asterisk went away under the call): from the events
            call.ended_at = call.ended_at or failure.at
            call.talked = max(call.ended_at - call.answered_at, 0.0)
            call.estimated = True
        talked = call.talked
        if row is not None and row["subscriber_id"] is not None:
            answered.setdefault(row["subscriber_id"], []).append(call.attempt_id)
            if talked >= message_end:
                heard.setdefault((row["subscriber_id"], row["message_key"]), []).append(
                    call.attempt_id)
        if talked < message_end:
            in_scope = failure.scope is None or call.attempt_id in failure.scope
            until = failure.back if failure.back is not None else float("inf")
            if in_scope and failure.at - GRACE <= call.ended_at <= until + GRACE:
                by_failure.append(call)
            else:
                by_us.append(call)
    duplicates = sorted({sub for (sub, _), ids in heard.items() if len(ids) > 1})
    lost = sorted({i for i, r in rows.items() if r["outcome"] is None}
                  | {i for i in calls if i not in rows or rows[i]["outcome"] is None})
    delivered = sum(1 for d in first_deliveries(db) if d["status"] == "delivered")
    twice = sorted(s for s, ids in answered.items() if len(ids) > 1 and s not in duplicates)
    heard_by = {sub for (sub, _) in heard}
    unheard = sorted(d["subscriber_id"] for d in first_deliveries(db)
                     if d["status"] == "delivered" and d["subscriber_id"] not in heard_by)
    never = [(i, r["cause_text"] or "") for i, r in rows.items()
             if i not in calls and r["started_at"] is not None]
    return Counts(women, len(calls), delivered, duplicates, lost, by_us, by_failure, twice,
                  unheard, never, len(rows))


def describe(call: PhoneCall, t0: float) -> str:
    talked = "?" if call.talked is None else f"{call.talked:.1f}"
    end = "?" if call.ended_at is None else f"{call.ended_at - t0:+.1f}"
    seen = ("" if not call.estimated else " (from the event times)" if call.end_seen
            else " (no SimPhoneEnded: from the event times)")
    return (f"attempt {call.attempt_id}: answered {call.answered_at - t0:+.1f} s, ended {end} s, "
            f"talked {talked} s{seen}, cause {call.cause or '?'}")


# Playback runs in 20 ms frames and the phone times its talk from its own Answer(): a call
# that played greeting + message to the end may count a few frames short of their length.
PLAYED_TOLERANCE = 0.1


def message_end_seconds(message_seconds: float) -> float:
    """From her answer to the end of her message: the greeting, then the message (less a few
    frames of timing: PLAYED_TOLERANCE)."""
    return PROMPT_SECONDS + message_seconds - PLAYED_TOLERANCE


@dataclass
class Result:
    name: str
    counts: Counts | None = None
    resume: float | None = None
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    error: str | None = None
    failed_at: float | None = None          # when the drill broke something
    back_at: float | None = None            # when the broken part served again
    phones_ended: int = 0                   # SimPhoneEnded events (Asterisk's own view)
    live_at_failure: tuple[int, int] = (0, 0)   # calls (ringing, answered) at the failure

    @property
    def clean(self) -> bool:
        c = self.counts
        return c is not None and not (c.duplicates or c.lost or c.cut_by_us)


# ---------------------------------------------------------------------- the table
def markdown(results: list[Result], women: int) -> str:
    out = ["| drill | women | calls placed | delivered | duplicate deliveries | lost attempts "
           "| hung up on (by us / by the failure) | resume seconds | notes |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r.counts
        if c is None:
            out.append(f"| {r.name} | {women} | - | - | - | - | - | - | FAILED: {r.error} |")
            continue
        resume = "-" if r.resume is None else f"{r.resume:.2f}"
        notes = "; ".join(r.notes + ([f"ERROR: {r.error}"] if r.error else []))
        unheard = f" ({len(c.delivered_unheard)} never heard it out)" if c.delivered_unheard else ""
        out.append(f"| {r.name} | {c.women} | {c.placed} | {c.delivered}/{c.women}{unheard} | "
                   f"{len(c.duplicates)} | {len(c.lost)} | {len(c.cut_by_us)} / "
                   f"{len(c.cut_by_failure)} | {resume} | {notes} |")
    for r in results:
        if r.details:
            out += ["", f"{r.name}:", *[f"- {line}" for line in r.details]]
    return "\n".join(out) + "\n"


