"""The attempt row's record of a call's end: what Asterisk said (Reason, Cause) and what she
heard (the in-call route's report), written once by the controller when the call ends. The
outcome, heard share and end time are the closing write's (the scheduler's release, or a test
call's close): nobody writes them twice. The one exception, `left_live`: a call the service
leaves up at its stop deadline is closed by the next start, which reads what she heard here."""
from __future__ import annotations

from ivr.adapters.store import Store
from ivr.call_tracker import CallReport, Listening


_LISTENING = ("heard_seconds = ?, message_seconds = ?, ended = ?, keys = ?, "
              "language_played = ?, plays = ?, answers = ?")


def _listening(heard: Listening) -> tuple:
    return (heard.heard_seconds, heard.message_seconds, heard.ended, heard.keys,
            heard.language_played, heard.plays, heard.answers)


async def record_end(store: Store, report: CallReport) -> None:
    heard = report.listening
    if heard is None:
        await store.execute(
            "UPDATE attempts SET reason = ?, cause = ?, cause_text = ? WHERE id = ?",
            (report.reason, report.cause, report.cause_text, report.attempt_id))
        return
    await store.execute(
        f"UPDATE attempts SET reason = ?, cause = ?, cause_text = ?, {_LISTENING} WHERE id = ?",
        (report.reason, report.cause, report.cause_text, *_listening(heard), report.attempt_id))


async def left_live(store: Store, attempt_id: int, heard: Listening) -> None:
    """A call left up at the stop deadline: what she heard so far, for whoever closes it
    (ivr/recovery.py releases it with this heard share)."""
    await store.execute(
        f"UPDATE attempts SET {_LISTENING}, heard_share = ? WHERE id = ?",
        (*_listening(heard), heard.heard_share, attempt_id))
