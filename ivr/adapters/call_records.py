"""The attempt row's record of a call's end: what Asterisk said (Reason, Cause) and what she
heard (the in-call route's report), written once by the controller when the call ends. The
outcome, heard share and end time are the closing write's (the scheduler's release, or a test
call's close): nobody writes them twice."""
from __future__ import annotations

from ivr.adapters.store import Store
from ivr.call_tracker import CallReport


async def record_end(store: Store, report: CallReport) -> None:
    heard = report.listening
    if heard is None:
        await store.execute(
            "UPDATE attempts SET reason = ?, cause = ?, cause_text = ? WHERE id = ?",
            (report.reason, report.cause, report.cause_text, report.attempt_id))
        return
    await store.execute(
        "UPDATE attempts SET reason = ?, cause = ?, cause_text = ?, heard_seconds = ?, "
        "message_seconds = ?, ended = ?, keys = ?, language_played = ?, plays = ? WHERE id = ?",
        (report.reason, report.cause, report.cause_text, heard.heard_seconds,
         heard.message_seconds, heard.ended, heard.keys, heard.language_played, heard.plays,
         report.attempt_id))
