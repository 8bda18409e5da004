"""The call tracker: one outbound call from its Originate to its end, as a pure state machine
(like ivr/flow.py: events in, actions out; the time is passed in, never read).

In: what AMI says (the OriginateResponse, Newstate, Hangup, the link lost or back and then
Asterisk's channel list), what the in-call route says (its session began; its report), and
the clock (`tick(now)` once `deadline` has come). Out: actions for the shell
(ivr/controller.py) to carry out: send the Originate, say her phone was reached, write the
answer time (crash safety), list Asterisk's channels, hang up channels by name, and at the
end release the attempt with the call's report.

The rules (tests/test_call_tracker.py):
- A failed Originate waits up to CAUSE_GRACE_SECONDS for the Hangup that carries the cause.
  An answered call ends with the Hangup of our channel (cut after MAX_CALL_SECONDS); the
  in-call flow then has FLOW_GRACE_SECONDS to report.
- The AMI link lost before the Originate's outcome: Asterisk may still ring her phone. Once
  the link is back (within the ring timeout + RECOVER_SECONDS) and Asterisk still has the
  call's channel, the call is taken back: its outcome comes from the OriginateResponse event,
  the in-call route (she answered) or the Hangup of its channel. Otherwise it is lost:
  answered if the in-call route has it, failed if not.
- The link lost while answered: the end of the in-call flow stands in for the Hangup while
  the link is away; once back, a channel Asterisk no longer has has ended.
"""
from __future__ import annotations

from ivr.call_actions import (Action, Answered, HangUp, ListChannels, Reached, Release,
                              SendOriginate)
from ivr.call_report import CallReport, Listening
from ivr.protocol.ami import Hangup, OriginateResponse
from ivr.protocol.outcome import REASON_ANSWERED, classify
from scheduler.outcome import Outcome

# what came of a call (ivr/call_report.py) and the tracker's actions (ivr/call_actions.py)
__all__ = ["CallReport", "Listening", "Action", "Answered", "HangUp", "ListChannels", "Reached",
           "Release", "SendOriginate", "CallTracker"]

# After a failed originate, how long to wait for the Hangup that carries the cause.
CAUSE_GRACE_SECONDS = 2.0
# An answered call longer than this is cut (a stuck channel must not hold a line for ever).
MAX_CALL_SECONDS = 900.0
# After the AMI link dropped, how long a call's tracker waits for it to come back before it
# gives the call up (beyond the ring timeout, for a call still ringing).
RECOVER_SECONDS = 30.0
# Once the call ended (or was cut), how long the in-call flow has to report what she heard,
# and how long a cut call has for its Hangup.
FLOW_GRACE_SECONDS = 10.0
# Channel states (AMI Newstate ChannelState) that show the trunk reached her phone.
REACHED_STATES = frozenset({"5", "6"})          # Ringing, Up


# states
NEW = "new"                    # before the Originate
DIALLING = "dialling"          # waiting for the OriginateResponse
RECOVERING = "recovering"      # the link dropped before the outcome: waiting for it back
CHECKING = "checking"          # link back: waiting for the channel list
TAKING_BACK = "taking_back"    # the channel is there: waiting for a sign of the outcome
FAILING = "failing"            # failed: waiting for the Hangup with the cause
ANSWERED = "answered"          # waiting for the Hangup of our channel
AWAY = "away"                  # answered, link lost: waiting for it back or the flow's end
CUTTING = "cutting"            # too long: channels listed, then hung up
ENDING = "ending"              # ended: waiting for the in-call flow's report
LOST = "lost"                  # lost, but the in-call route has it: waiting for its report
DONE = "done"


class CallTracker:
    """One call. `channel_id`: the Uniqueid the Originate names for the dialled channel (a
    Local channel's second half is `channel_id + "-2"`)."""

    def __init__(self, attempt_id: int, channel_id: str, ring_timeout: float):
        self.attempt_id = attempt_id
        self.channel_id = channel_id
        self.ring_timeout = ring_timeout
        self.state = NEW
        self.deadline: float | None = None     # call tick(now) once now >= deadline
        self.response: OriginateResponse | None = None
        self.hangups: dict[str, Hangup] = {}
        self.ended = False           # our channel hung up
        self.cause_seen = False      # a Hangup with a cause
        self.agi_started = False
        self.agi_failed_seen = False   # the dialplan's fallback took the call before the route
        self.answer_said = False
        self._answer_said_as: Answered | None = None     # as said (its channel may come later)
        self.answer_held = False     # the route has her answer, to write after IVR_SERVED
        self.flow_done = False
        self.listening: Listening | None = None
        self.reached = False
        self.link_up = True
        self.link_broke = False      # the link dropped (or Asterisk shut down) since the Originate
        self._lost_why = ""
        self._not_placed = False
        self._call_deadline = 0.0    # an answered call is cut then

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def uniqueids(self) -> tuple[str, str]:
        """Our channel and, for a Local channel, its second half."""
        return self.channel_id, self.channel_id + "-2"

    # ------------------------------------------------------------------ inputs
    def start(self, now: float) -> list[Action]:
        if self.state != NEW:
            return []
        self.state = DIALLING
        return [SendOriginate()]

    def originate_response(self, now: float, response: OriginateResponse) -> list[Action]:
        """Asterisk's answer to the Originate: from the action, or (sent before a reconnect)
        as an event. The first one counts."""
        if self.response is not None or self.state not in (DIALLING, RECOVERING, CHECKING,
                                                           TAKING_BACK):
            return []
        if self.state in (RECOVERING, CHECKING):
            self.response = response         # taken once the channel check says it may be
            return []
        return self._respond(now, response)

    def originate_failed(self, now: float, why: str, *, not_placed: bool,
                         link_lost: bool = False) -> list[Action]:
        """The Originate got no answer: not placed (never sent, or refused by Asterisk), the
        link dropped before its outcome (`link_lost`), or no answer in time."""
        if self.state != DIALLING:
            return []
        if not_placed or not (link_lost or self.link_broke):
            return self._lose(now, why, not_placed)
        self._lost_why = why
        self.deadline = now + self.ring_timeout + RECOVER_SECONDS
        if not self.link_up:
            self.state = RECOVERING
            return []
        self.state = CHECKING                    # back already
        return [ListChannels()]

    def newstate(self, now: float, channel_state: str) -> list[Action]:
        if channel_state in REACHED_STATES and self.state != DONE:
            return self._reach()
        return []

    def hangup(self, now: float, event: Hangup) -> list[Action]:
        if self.state == DONE or event.uniqueid not in self.uniqueids:
            return []
        self.hangups[event.uniqueid] = event
        if event.cause:
            self.cause_seen = True
        if event.uniqueid == self.channel_id:
            self.ended = True
        if self.state == FAILING and self.cause_seen:
            return self._finish(now)
        if self.state in (ANSWERED, AWAY, CUTTING) and self.ended:
            return self._after_end(now)
        if self.state == TAKING_BACK:
            return self._taken_back(now)
        return []

    def link_lost(self, now: float) -> list[Action]:
        if self.state == NEW:
            return []
        self.link_up = False
        self.link_broke = True
        if self.state == CHECKING:               # the list will not come
            self.state = RECOVERING
        if self.state == ANSWERED:
            # the Hangup may be missed now: the end of the in-call flow stands in for it
            if self.agi_started and self.flow_done:
                return self._finish(now)
            self.state = AWAY
        return []

    def shutdown(self, now: float) -> None:
        """Asterisk announced it is shutting down: a failure now is Asterisk's."""
        if self.state != NEW:
            self.link_broke = True

    def link_back(self, now: float) -> list[Action]:
        self.link_up = True
        if self.state in (RECOVERING, AWAY):
            self.state = CHECKING if self.state == RECOVERING else AWAY
            return [ListChannels()]
        return []

    def channels(self, now: float, names: dict[str, str] | None) -> list[Action]:
        """Asterisk's channels now (Uniqueid -> name), as a ListChannels asked; None: it
        could not say."""
        if self.state == CHECKING:
            if names is None:
                return self._lose(now, self._lost_why, False)
            present = any(uid in names for uid in self.uniqueids)
            if not present and not (self.response is not None or self.agi_started
                                    or self.cause_seen):
                return self._lose(now, self._lost_why, False)   # it ended while AMI was away
            self.state = TAKING_BACK
            self.deadline = max(self.deadline or now, now + 1.0)
            return self._taken_back(now)
        if self.state == AWAY:
            if self.ended:
                return self._after_end(now)
            if names is not None and not any(uid in names for uid in self.uniqueids):
                return self._after_end(now)      # it ended while AMI was away
            if self.link_up:
                self.state = ANSWERED
            return []
        if self.state == CUTTING and names is not None:
            ours = tuple(n for uid, n in names.items() if uid == self.channel_id)
            if not ours:      # only the second half of a Local channel is left
                ours = tuple(n for uid, n in names.items() if uid == self.channel_id + "-2")
            return [HangUp(ours)] if ours else []
        return []

    def agi_begins(self, now: float) -> list[Action]:
        """The in-call route has the call's session: she answered. The route writes her
        answer once Asterisk knows it has her call (IVR_SERVED), before it plays anything
        (answer_written, or answer_unwritten)."""
        if self.state == DONE or self.agi_started:
            return []
        self.agi_started = True
        actions = self._reach()
        actions += self._answer(now, self.response.channel if self.response else None)
        self.answer_held = self.answer_said
        if self.state == TAKING_BACK:
            actions += self._taken_back(now)
        return actions

    def agi_failed(self, now: float) -> list[Action]:
        """The dialplan's fallback took the call (UserEvent IvrAgiFailed). Before the route had
        it (FastAGI unreachable), she hears the apology only: an answered call then ends
        as FAILED, retried by the policy. After (the route went away mid-call), nothing
        changes: her answer is written, the fallback plays her message."""
        if self.state != DONE and not self.agi_started:
            self.agi_failed_seen = True
        return []

    def answer_unwritten(self, now: float) -> list[Action]:
        """Her answer could not be written: the route does not serve her (the dialplan's
        fallback apologises), so an answered call ends as FAILED, as in agi_failed."""
        self.answer_held = False
        if self.state != DONE:
            self.agi_failed_seen = True
        return []

    def answer_written(self, written: Answered) -> list[Action]:
        """The route wrote her answer (or queued it: the database away) once Asterisk knew
        it had her call: the channel name Asterisk's answer to the Originate gave meanwhile
        is written now, not before IVR_SERVED."""
        self.answer_held = False
        latest = self._answer_said_as
        return [latest] if latest is not None and latest != written else []

    def agi_done(self, now: float, listening: Listening | None) -> list[Action]:
        """The in-call route is done (listening None: it played nothing)."""
        if self.state == DONE or self.flow_done:
            return []
        self.flow_done = True
        self.listening = listening
        if self.state in (ENDING, AWAY):
            return self._finish(now)
        if self.state == LOST:
            return self._lost_answered(now)
        return []

    def tick(self, now: float) -> list[Action]:
        """The clock: call once now >= deadline."""
        if self.deadline is None or now < self.deadline:
            return []
        state = self.state
        if state == FAILING or state == ENDING:
            return self._finish(now)
        if state == ANSWERED:
            self.state, self.deadline = CUTTING, now + FLOW_GRACE_SECONDS
            return [ListChannels(cut=True)]
        if state == CUTTING or state == AWAY:
            return self._after_end(now)
        if state in (RECOVERING, CHECKING, TAKING_BACK):
            return self._lose(now, self._lost_why, False)
        if state == LOST:
            return self._lost_answered(now)
        self.deadline = None
        return []

    # ------------------------------------------------------------------ transitions
    def _reach(self) -> list[Action]:
        if self.reached:
            return []
        self.reached = True
        return [Reached()]

    def _answer(self, now: float, channel: str | None) -> list[Action]:
        if self.answer_said:
            return []
        self.answer_said = True
        self._answer_said_as = Answered(now, channel)
        return [self._answer_said_as]

    def _respond(self, now: float, response: OriginateResponse) -> list[Action]:
        """Her answer is written when the in-call route takes the call (agi_begins), not
        here: an answered call the route never had is not delivered."""
        self.response = response
        actions: list[Action] = []
        if (self._answer_said_as is not None and self._answer_said_as.channel is None
                and response.channel is not None):
            # the route took her call before Asterisk's answer to the Originate came (a busy
            # machine): her answer stands, written again with its channel name (once the
            # route wrote it: answer_written; never when it could not be written)
            self._answer_said_as = Answered(self._answer_said_as.at, response.channel)
            if not self.answer_held and not self.agi_failed_seen:
                actions.append(self._answer_said_as)
        if not response.success:
            if self.cause_seen:
                return actions + self._finish(now)
            self.state, self.deadline = FAILING, now + CAUSE_GRACE_SECONDS
            return actions
        actions += self._reach()
        self._call_deadline = now + MAX_CALL_SECONDS
        self.state, self.deadline = ANSWERED, self._call_deadline
        if not self.link_up:
            self.state = AWAY
        if self.ended:
            actions += self._after_end(now)
        return actions

    def _taken_back(self, now: float) -> list[Action]:
        """In TAKING_BACK: the first sign of the outcome decides (an OriginateResponse, the
        in-call route, the Hangup of our channel)."""
        action_id = f"orig-{self.channel_id}"
        if self.response is not None:
            return self._respond(now, self.response)
        if self.agi_started:
            return self._respond(now, OriginateResponse(action_id, True, REASON_ANSWERED,
                                                        self.channel_id, None))
        if self.ended:
            return self._respond(now, OriginateResponse(action_id, False, None,
                                                        self.channel_id, None))
        return []

    def _after_end(self, now: float) -> list[Action]:
        """Our channel is gone (or a cut call's Hangup did not come): let the in-call flow
        report, then finish."""
        if self.agi_started and not self.flow_done:
            self.state, self.deadline = ENDING, now + FLOW_GRACE_SECONDS
            return []
        return self._finish(now)

    def _lose(self, now: float, why: str, not_placed: bool) -> list[Action]:
        """The call cannot be followed: answered if the in-call route has it, else failed."""
        self._lost_why, self._not_placed = why, not_placed
        if self.agi_started and not self.flow_done:
            self.state, self.deadline = LOST, now + MAX_CALL_SECONDS
            return []
        if self.agi_started:
            return self._lost_answered(now)
        return self._release(CallReport(
            self.attempt_id, Outcome.FAILED, now, cause_text=why[:200], link_lost=True,
            placed=not not_placed))

    def _lost_answered(self, now: float) -> list[Action]:
        return self._answer(now, None) + self._release(CallReport(
            self.attempt_id, Outcome.ANSWERED, now, cause_text=self._lost_why[:200],
            listening=self.listening, link_lost=True))

    def _finish(self, now: float) -> list[Action]:
        response = self.response
        assert response is not None
        cause, cause_text = self.dialled_cause()
        outcome = classify(response.reason, cause)
        unserved = outcome.answered and self.agi_failed_seen
        if unserved:        # she heard the apology only: not delivered, called again
            outcome, cause_text = Outcome.FAILED, "answered, the in-call route never had it"
        # a failure with no cause while Asterisk went away (shutting down, link lost) is
        # Asterisk's, not the trunk's
        return self._release(CallReport(
            self.attempt_id, outcome, now, reason=response.reason,
            cause=cause, cause_text=cause_text, listening=self.listening,
            link_lost=not response.success and not cause and self.link_broke,
            unserved=unserved))

    def _release(self, report: CallReport) -> list[Action]:
        self.state, self.deadline = DONE, None
        return [Release(report)]

    def dialled_cause(self) -> tuple[int | None, str | None]:
        """The cause of the leg that rang her phone: for a Local channel its second half,
        otherwise the channel itself. Zero (unknown) loses to any real cause."""
        best: tuple[int | None, str | None] = (None, None)
        for uid in (self.channel_id + "-2", self.channel_id):
            h = self.hangups.get(uid)
            if h and h.cause:
                return h.cause, h.cause_text
            if h and best[0] is None:
                best = (h.cause, h.cause_text)
        return best
