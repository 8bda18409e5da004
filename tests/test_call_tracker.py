"""The pure call tracker (ivr/call_tracker.py): AMI events, the in-call route's report and the
clock in; Originate, Hangup and "release with this report" out. Plain tables, no asyncio.
The same calls against the real Asterisk: tests/e2e/test_call_outcomes.py, test_reconnect.py,
test_not_placed.py, test_asterisk_restart.py."""
from __future__ import annotations

import pytest

from ivr.call_actions import Answered, HangUp, ListChannels, Reached, Release, SendOriginate
from ivr.call_report import CallReport, Listening
from ivr.call_tracker import (CAUSE_GRACE_SECONDS, FLOW_GRACE_SECONDS, MAX_CALL_SECONDS,
                              RECOVER_SECONDS, CallTracker)
from ivr.protocol.ami import Hangup, OriginateResponse
from scheduler.outcome import Outcome

CH = "ivr-7-0123abcd"
SECOND = CH + "-2"                    # a Local channel's second half: the leg that rang her
RING = 30.0
HEARD = Listening(heard_seconds=3.0, message_seconds=3.0, heard_share=1.0, ended="hangup",
                  keys="", language_played="hi", plays=1)


def response(success: bool, reason: int | None, channel: str | None = "Local/9190@x;1"):
    return OriginateResponse(f"orig-{CH}", success, reason, CH, channel)


def hangup(uid: str, cause: int | None, text: str = "") -> Hangup:
    return Hangup(uid, None, "Local/9190@x;1", cause, text, {})


def dialling(now: float = 100.0) -> CallTracker:
    tracker = CallTracker(7, CH, RING)
    assert tracker.start(now) == [SendOriginate()]
    assert tracker.start(now) == []                 # one Originate
    return tracker


def report_of(actions) -> CallReport:
    [release] = [a for a in actions if isinstance(a, Release)]
    assert actions[-1] is release                   # nothing after the release
    return release.report


def answered(t: CallTracker, now: float = 101.0) -> CallTracker:
    actions = t.originate_response(now, response(True, 4))
    assert actions == [Reached()]           # her answer is written when the route has her
    assert t.deadline == now + MAX_CALL_SECONDS
    return t


# ------------------------------------------------------------------ every outcome
@pytest.mark.parametrize("reason, hangups, outcome, cause", [
    (5, [(SECOND, 17), (CH, 17)], Outcome.BUSY, 17),
    (3, [(SECOND, 19), (CH, 0)], Outcome.NO_ANSWER, 19),
    (8, [(SECOND, 34)], Outcome.CONGESTION, 34),
    (0, [(CH, 0), (SECOND, 21)], Outcome.REJECTED, 21),          # PJSIP: only the cause says
    (0, [(SECOND, 1)], Outcome.INVALID_NUMBER, 1),
    (5, [(SECOND, 20)], Outcome.UNREACHABLE, 20),                # the cause is more precise
], ids=["busy", "no answer", "congestion", "rejected", "invalid number", "unreachable"])
def test_a_failed_call_ends_with_the_first_hangup_that_carries_a_cause(reason, hangups,
                                                                        outcome, cause):
    t = dialling()
    assert t.originate_response(130.0, response(False, reason, None)) == []
    assert t.deadline == 130.0 + CAUSE_GRACE_SECONDS           # waiting for the cause
    actions = []
    for uid, c in hangups:
        actions = t.hangup(130.5, hangup(uid, c, f"cause {c}"))
        if t.done:
            break
    report = report_of(actions)
    assert report == CallReport(7, outcome, 130.5, reason=reason, cause=cause,
                                cause_text=f"cause {cause}")
    assert t.done and t.tick(999.0) == [] and t.hangup(131.0, hangup(CH, 16)) == []


def test_a_failure_whose_cause_never_comes_is_failed_after_the_grace():
    t = dialling()
    t.originate_response(110.0, response(False, 0, None))
    assert t.tick(110.0 + CAUSE_GRACE_SECONDS - 0.1) == []         # not yet
    report = report_of(t.tick(110.0 + CAUSE_GRACE_SECONDS))
    assert (report.outcome, report.reason, report.cause, report.link_lost) == (
        Outcome.FAILED, 0, None, False)


def test_an_answered_call_ends_with_its_hangup_and_carries_what_she_heard():
    t = answered(dialling())
    assert t.agi_begins(102.0) == [Answered(102.0, "Local/9190@x;1")]   # reached said already
    assert t.agi_done(110.0, HEARD) == []                # the call goes on until its Hangup
    assert t.hangup(111.0, hangup(SECOND, 16, "Normal Clearing")) == []   # the other half
    report = report_of(t.hangup(111.5, hangup(CH, 16, "Normal Clearing")))
    assert report == CallReport(7, Outcome.ANSWERED, 111.5, reason=4, cause=16,
                                cause_text="Normal Clearing", listening=HEARD)
    assert report.heard_share == 1.0


def test_the_route_before_asterisks_answer_writes_her_answer_then_its_channel():
    """A busy machine: the in-call route takes her call before the OriginateResponse comes.
    Her answer is written by the route (no channel name yet) once Asterisk knows it has her
    call (IVR_SERVED), then again, same time, with the channel name. The response may come
    while the route is still telling Asterisk: the channel's write waits for the route's,
    else her answer would be in the store before IVR_SERVED (reaped as answered while the
    fallback apologised: dialplan/README.md, "One window is left")."""
    t = dialling()
    said = t.agi_begins(101.0)
    assert said == [Reached(), Answered(101.0, None)]
    assert t.originate_response(101.4, response(True, 4)) == []     # the route's not written
    assert t.answer_written(said[1]) == [Answered(101.0, "Local/9190@x;1")]
    assert t.originate_response(101.5, response(True, 4)) == []       # the first one counts
    t.agi_done(110.0, HEARD)
    report = report_of(t.hangup(111.0, hangup(CH, 16)))
    assert (report.outcome, report.listening) == (Outcome.ANSWERED, HEARD)


def test_a_response_after_the_route_wrote_her_answer_writes_its_channel_at_once():
    t = dialling()
    said = t.agi_begins(101.0)
    assert t.answer_written(said[1]) == []                # no channel name known yet
    assert t.originate_response(101.4, response(True, 4)) == [Answered(101.0, "Local/9190@x;1")]


def test_an_answer_that_could_not_be_written_is_not_written_with_its_channel():
    """The route could not write her answer (IVR_SERVED cleared, the fallback apologises):
    Asterisk's later answer to the Originate does not write it either."""
    t = dialling()
    t.agi_begins(101.0)
    assert t.answer_unwritten(101.2) == []
    assert t.originate_response(101.4, response(True, 4)) == []
    t.agi_done(101.5, None)
    assert report_of(t.hangup(102.0, hangup(CH, 16))).outcome is Outcome.FAILED


def test_a_response_without_a_channel_name_writes_nothing_again():
    t = dialling()
    assert t.agi_begins(101.0) == [Reached(), Answered(101.0, None)]
    assert t.originate_response(101.4, response(True, 4, None)) == []


def test_the_flow_reports_after_the_hangup_within_its_grace():
    t = answered(dialling())
    t.agi_begins(102.0)
    assert t.hangup(105.0, hangup(CH, 16)) == []          # the flow has not reported yet
    assert t.deadline == 105.0 + FLOW_GRACE_SECONDS
    report = report_of(t.agi_done(105.2, HEARD))
    assert report.listening == HEARD and report.ended_at == 105.2


def test_a_flow_that_never_reports_leaves_no_heard_share():
    t = answered(dialling())
    t.agi_begins(102.0)
    t.hangup(105.0, hangup(CH, 16))
    report = report_of(t.tick(105.0 + FLOW_GRACE_SECONDS))
    assert report.outcome is Outcome.ANSWERED and report.heard_share is None


@pytest.mark.parametrize("refused", [True, False], ids=["refused", "not connected"])
def test_an_originate_never_placed_costs_nothing(refused):
    t = dialling()
    report = report_of(t.originate_failed(100.1, "Originate refused: shutting down",
                                          not_placed=True))
    assert report == CallReport(7, Outcome.FAILED, 100.1, cause_text=(
        "Originate refused: shutting down"), link_lost=True, placed=False)


def test_no_originate_response_in_time_is_a_failure_that_says_nothing_of_the_trunk():
    t = dialling()
    report = report_of(t.originate_failed(160.0, "no OriginateResponse within 60 s",
                                          not_placed=False))
    assert (report.outcome, report.placed, report.link_lost) == (Outcome.FAILED, True, True)


def test_newstate_ringing_says_reached_once():
    t = dialling()
    assert t.newstate(100.5, "4") == []              # Ring (dialling out): not yet
    assert t.newstate(101.0, "5") == [Reached()]     # Ringing
    assert t.newstate(101.5, "6") == []


# ------------------------------------------------------------------ order of events
def test_a_hangup_before_the_originate_response():
    t = dialling()
    assert t.hangup(120.0, hangup(SECOND, 17, "User busy")) == []
    assert t.hangup(120.0, hangup(CH, 17, "User busy")) == []
    report = report_of(t.originate_response(120.1, response(False, 5, None)))
    assert (report.outcome, report.cause, report.ended_at) == (Outcome.BUSY, 17, 120.1)


def test_an_answered_call_whose_hangup_came_before_its_response():
    t = dialling()
    t.hangup(104.0, hangup(CH, 16))
    actions = t.originate_response(104.1, response(True, 4))
    assert actions[0] == Reached() and not any(isinstance(a, Answered) for a in actions)
    assert report_of(actions).outcome is Outcome.ANSWERED


def test_a_late_originate_response_after_the_call_was_given_up_changes_nothing():
    t = dialling()
    t.link_lost(110.0)
    t.originate_failed(110.0, "AMI connection lost before the outcome", not_placed=False,
                       link_lost=True)
    report = report_of(t.tick(110.0 + RING + RECOVER_SECONDS))   # AMI never came back
    assert (report.outcome, report.link_lost) == (Outcome.FAILED, True)
    assert t.originate_response(200.0, response(True, 4)) == []
    assert t.link_back(201.0) == [] and t.done


def test_a_second_originate_response_is_ignored():
    t = answered(dialling())
    assert t.originate_response(101.5, response(False, 0)) == []
    assert t.originate_failed(101.6, "late", not_placed=False) == []


# ------------------------------------------------------------------ the AMI link lost
def lost_while_ringing() -> CallTracker:
    t = dialling()
    t.newstate(101.0, "5")
    assert t.link_lost(105.0) == []
    assert t.originate_failed(105.0, "AMI connection lost before the outcome",
                              not_placed=False, link_lost=True) == []
    assert t.deadline == 105.0 + RING + RECOVER_SECONDS
    assert t.link_back(108.0) == [ListChannels()]
    return t


def test_link_lost_while_ringing_then_the_response_event_after_the_reconnect():
    t = lost_while_ringing()
    assert t.channels(108.1, {CH: "Local/9190@x;1", SECOND: "Local/9190@x;2"}) == []
    actions = t.originate_response(115.0, response(True, 4))       # sent to every session
    assert actions == [] and t.state == "answered"             # reached: said while ringing
    report = report_of(t.hangup(140.0, hangup(CH, 16)))
    assert (report.outcome, report.link_lost) == (Outcome.ANSWERED, False)


def test_link_lost_while_ringing_she_answers_before_it_is_back():
    t = lost_while_ringing()
    t2 = dialling()                       # the same, but her AGI session begins while away
    t2.link_lost(105.0)
    t2.originate_failed(105.0, "lost", not_placed=False, link_lost=True)
    assert t2.agi_begins(106.0) == [Reached(), Answered(106.0, None)]   # written at once
    assert t2.link_back(108.0) == [ListChannels()]
    actions = t2.channels(108.1, {CH: "Local/x;1"})
    assert actions == [] and t2.state == "answered"          # taken back as answered
    assert t2.hangup(130.0, hangup(CH, 16)) == []           # then the flow reports
    assert report_of(t2.agi_done(130.1, HEARD)).outcome is Outcome.ANSWERED
    # and one that rang on, then failed: its Hangup decides
    assert t.channels(108.1, {CH: "Local/x;1"}) == []
    t.hangup(120.0, hangup(SECOND, 19))
    report = report_of(t.hangup(120.0, hangup(CH, 19)))
    assert (report.outcome, report.reason, report.cause) == (Outcome.NO_ANSWER, None, 19)


def test_link_lost_while_ringing_and_the_channel_gone_when_it_is_back():
    t = lost_while_ringing()
    report = report_of(t.channels(108.1, {}))
    assert report == CallReport(7, Outcome.FAILED, 108.1, cause_text=(
        "AMI connection lost before the outcome"), link_lost=True)


def test_link_lost_and_back_before_the_originates_failure_arrives():
    t = dialling()
    t.link_lost(105.0)
    assert t.link_back(106.0) == []
    assert t.originate_failed(106.1, "lost", not_placed=False, link_lost=True) == [
        ListChannels()]
    assert t.channels(106.2, {CH: "Local/x;1"}) == []
    assert t.originate_response(110.0, response(True, 4)) == [Reached()]
    assert t.state == "answered"


def test_link_lost_while_ringing_and_asterisk_cannot_list_its_channels():
    t = lost_while_ringing()
    assert report_of(t.channels(108.1, None)).outcome is Outcome.FAILED


def test_link_lost_while_ringing_and_no_sign_until_the_deadline():
    t = lost_while_ringing()
    t.channels(108.1, {CH: "Local/x;1"})
    assert t.tick(t.deadline - 1) == []
    assert report_of(t.tick(t.deadline)).outcome is Outcome.FAILED


def test_link_lost_with_the_flow_running_is_answered_once_the_flow_reports():
    t = dialling()
    assert t.agi_begins(103.0) == [Reached(), Answered(103.0, None)]
    t.link_lost(105.0)
    t.originate_failed(105.0, "lost", not_placed=False, link_lost=True)
    assert t.tick(105.0 + RING + RECOVER_SECONDS) == []     # lost, but the route has her
    actions = t.agi_done(170.0, HEARD)
    assert not any(isinstance(a, Answered) for a in actions)   # written once
    report = report_of(actions)
    assert (report.outcome, report.listening, report.link_lost) == (
        Outcome.ANSWERED, HEARD, True)


def test_link_lost_while_answered_the_flows_end_stands_in_for_the_hangup():
    t = answered(dialling())
    t.agi_begins(102.0)
    assert t.link_lost(110.0) == []
    report = report_of(t.agi_done(125.0, HEARD))
    assert (report.outcome, report.listening, report.ended_at) == (Outcome.ANSWERED, HEARD, 125.0)


def test_link_lost_while_answered_after_the_flow_ended_ends_the_call():
    t = answered(dialling())
    t.agi_begins(102.0)
    t.agi_done(110.0, HEARD)                  # the call centre, say: the call goes on
    report = report_of(t.link_lost(130.0))
    assert report.outcome is Outcome.ANSWERED and report.listening == HEARD


def test_link_back_while_answered_asks_whether_the_call_is_still_there():
    t = answered(dialling())
    t.agi_begins(102.0)
    t.link_lost(110.0)
    assert t.link_back(112.0) == [ListChannels()]
    assert t.channels(112.1, {CH: "Local/x;1"}) == []         # still up: follow it on
    assert t.hangup(150.0, hangup(CH, 16)) == []               # the flow reports next
    assert report_of(t.agi_done(150.1, HEARD)).ended_at == 150.1
    # the same call gone while AMI was away
    t = answered(dialling())
    t.link_lost(110.0)
    t.link_back(112.0)
    report = report_of(t.channels(112.1, {}))
    assert (report.outcome, report.ended_at) == (Outcome.ANSWERED, 112.1)


def test_a_failure_with_no_cause_while_asterisk_shut_down_is_not_the_trunks():
    t = dialling()
    t.shutdown(101.0)
    t.originate_response(101.1, response(False, 0, None))
    report = report_of(t.tick(101.1 + CAUSE_GRACE_SECONDS))
    assert (report.outcome, report.link_lost) == (Outcome.FAILED, True)


def test_a_link_lost_before_the_originate_is_not_this_calls():
    t = CallTracker(7, CH, RING)
    t.link_lost(99.0)
    t.link_back(99.5)
    t.start(100.0)
    t.originate_response(101.0, response(False, 0, None))
    assert report_of(t.tick(101.0 + CAUSE_GRACE_SECONDS)).link_lost is False


# ------------------------------------------------------------------ the longest call
def test_a_call_longer_than_the_maximum_is_cut():
    t = answered(dialling(), now=101.0)
    t.agi_begins(102.0)
    t.agi_done(200.0, HEARD)                        # the flow ended; the channel stays up
    assert t.tick(101.0 + MAX_CALL_SECONDS - 1) == []
    cut_at = 101.0 + MAX_CALL_SECONDS
    assert t.tick(cut_at) == [ListChannels(cut=True)]
    assert t.channels(cut_at + 0.1, {SECOND: "Local/x;2", CH: "Local/x;1"}) == [
        HangUp(("Local/x;1",))]
    report = report_of(t.hangup(cut_at + 0.3, hangup(CH, 16)))
    assert (report.outcome, report.listening) == (Outcome.ANSWERED, HEARD)


def test_a_cut_call_with_only_its_second_half_left_hangs_that_up():
    t = answered(dialling(), now=0.0)
    t.tick(MAX_CALL_SECONDS)
    assert t.channels(MAX_CALL_SECONDS, {SECOND: "Local/x;2"}) == [HangUp(("Local/x;2",))]
    # its Hangup never comes: the call ends all the same
    assert report_of(t.tick(MAX_CALL_SECONDS + FLOW_GRACE_SECONDS)).outcome is Outcome.ANSWERED


# ------------------------------------------------------------------ the dialplan's fallback
def test_an_answered_call_the_route_never_had_is_failed_not_answered():
    """FastAGI unreachable: the fallback sends IvrAgiFailed and plays the apology only; her
    answer was never written; the call is not delivered, she is called again."""
    t = answered(dialling())
    assert t.agi_failed(101.5) == []
    report = report_of(t.hangup(104.0, hangup(CH, 16, "Normal Clearing")))
    assert (report.outcome, report.reason, report.unserved, report.listening) == (
        Outcome.FAILED, 4, True, None)
    assert report.outcome.value == "failed"


def test_the_fallback_after_the_route_had_the_call_leaves_it_answered():
    t = answered(dialling())
    assert t.agi_begins(102.0) == [Answered(102.0, "Local/9190@x;1")]
    assert t.agi_failed(130.0) == []         # the route went away mid-call (no IVR_RESULT)
    t.agi_done(130.0, HEARD)
    report = report_of(t.hangup(150.0, hangup(CH, 16)))
    assert (report.outcome, report.unserved, report.listening) == (
        Outcome.ANSWERED, False, HEARD)


def test_the_fallback_event_of_a_call_that_failed_changes_nothing():
    t = dialling()
    t.agi_failed(101.0)
    report = report_of(t.originate_response(105.0, response(False, 5, None)) +
                       t.hangup(105.1, hangup(SECOND, 17)))
    assert (report.outcome, report.unserved) == (Outcome.BUSY, False)


def test_an_answer_that_could_not_be_written_is_failed():
    """The route does not serve a call whose answer it could not write (the fallback
    apologises): not delivered."""
    t = answered(dialling())
    assert t.agi_begins(102.0) == [Answered(102.0, "Local/9190@x;1")]
    assert t.answer_unwritten(102.1) == []
    t.agi_done(102.2, None)
    report = report_of(t.hangup(103.0, hangup(CH, 16)))
    assert (report.outcome, report.unserved) == (Outcome.FAILED, True)
