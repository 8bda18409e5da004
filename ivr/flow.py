"""What the woman hears and can do once she has answered: a pure state machine.

Events in, actions out; no I/O, no clock.  The FastAGI adapter (ivr/adapters/fastagi.py,
``run_flow``) turns each action into AGI commands and each reply into an event:

    flow = CallFlow(plan)
    action = flow.start()
    while not isinstance(action, Finish):
        action = flow.step(<event for that action>)

The call (issue 5): the greeting in her language, then her message (keys 1, 0, 9 interrupt it),
then the menu: 1 hear the message again, 0 the call centre (only if one is configured),
9 stop the service, confirmed with 1.  A wrong key or silence gets the short "invalid"
prompt and one more menu; a second miss gets the goodbye.  The message is played at most
``max_plays`` times, so a stuck key cannot hold a channel.  A hang-up at any point is a
partial listen, not a failure: how far she got comes from Asterisk's endpos (samples).

How each call ends (``CallResult.ended``) and the dialplan contract (VAR_RESULT):
- "no_input"     the menu got no valid key twice (silence or wrong keys): goodbye.  The usual
                 end of a call where she just listened.
- "completed"    she asked for the message again after its last allowed play: goodbye.
- "opted_out"    9 then 1, and the opt-out recorded: the "done" prompt; she must get no
                 more calls.  The flow asks the shell to record it (RecordOptOut) and waits for
                 the result (OptOutRecorded) BEFORE she is told it is done.
- "opt_out_failed"  9 then 1, but recording it failed: the "failed" prompt (the call centre
                 will call her; the shell puts her on its list); ``opted_out`` stays False.
- "call_centre"  0 with a call centre configured: the "connecting you" prompt, then the AGI
                 returns and the dialplan transfers on ${IVR_RESULT} = "call_centre".
- "hangup"       she hung up before the flow ended (VAR_RESULT is then not set).  A hang-up
                 during the closing prompt keeps "no_input"/"completed"/"opted_out" (an
                 opt-out once confirmed stands), but turns "call_centre" into "hangup" with
                 ``call_centre=True`` (she asked; the transfer cannot happen).
VAR_RESULT is set to ``ended`` just before ``Finish`` whenever the channel is still up.
With ``plan.questions`` (her message has questions, issue 15), a normal end ("no_input",
"completed") asks them (AskQuestions, answered by QuestionsAsked) before the goodbye; a
hang-up during them keeps that end. ivr/call_questions.py composes the two machines.
heard_seconds is the furthest point reached in the message over all plays (endpos / 8000);
heard_share is that over message_seconds, clamped to [0, 1] (0 when the length is unknown).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ivr import constants as C

SAMPLE_RATE = 8000          # our sound files are 8 kHz: endpos / 8000 = seconds

ENDED_COMPLETED = "completed"
ENDED_HANGUP = "hangup"
ENDED_NO_INPUT = "no_input"
ENDED_OPTED_OUT = "opted_out"
ENDED_CALL_CENTRE = "call_centre"
ENDED_OPT_OUT_FAILED = "opt_out_failed"


@dataclass(frozen=True)
class CallPlan:
    attempt_id: int
    message: str                      # full sound path without extension ("<sounds>/mmitra-p012")
    message_seconds: float            # length of the message (0 when unknown: share is then 0)
    language: str
    prompts: Mapping[str, str]        # prompt name (ivr.constants.PROMPT_*) -> full sound path
    call_centre: bool = False         # is a call centre configured (key 0)
    max_plays: int = 3                # message plays at most (first play included)
    menu_timeout_ms: int = 5000       # silence after the menu prompt before it counts as a miss
    prompt_max_seconds: float = 30.0  # upper bound of any prompt's length (adapter timeouts)
    sample_rate: int = SAMPLE_RATE
    questions: bool = False           # her message has questions: AskQuestions before goodbye

    def __post_init__(self) -> None:
        if not self.message:
            raise ValueError("CallPlan.message: empty sound path")
        if not self.message_seconds >= 0:
            raise ValueError(f"CallPlan.message_seconds must be >= 0, got {self.message_seconds!r}")
        if self.max_plays < 1:
            raise ValueError(f"CallPlan.max_plays must be >= 1, got {self.max_plays}")
        if self.menu_timeout_ms < 500:
            raise ValueError(f"CallPlan.menu_timeout_ms too short: {self.menu_timeout_ms}")
        if self.sample_rate <= 0:
            raise ValueError(f"CallPlan.sample_rate must be > 0, got {self.sample_rate}")
        needed = [C.PROMPT_GREETING, C.PROMPT_MENU, C.PROMPT_INVALID, C.PROMPT_GOODBYE,
                  C.PROMPT_OPTOUT_CONFIRM, C.PROMPT_OPTOUT_DONE, C.PROMPT_OPTOUT_FAILED]
        if self.call_centre:
            needed.append(C.PROMPT_CALL_CENTRE)
        missing = [p for p in needed if not self.prompts.get(p)]
        if missing:
            raise ValueError(f"CallPlan.prompts lacks {', '.join(missing)}")


# ---- actions (flow -> adapter) ----

@dataclass(frozen=True)
class Play:
    """STREAM FILE sound escape_digits; answer with Played (or HungUp)."""
    sound: str
    escape_digits: str = ""
    max_seconds: float = 30.0        # the sound is no longer than this (adapter timeout)


@dataclass(frozen=True)
class Ask:
    """GET DATA sound timeout_ms max_digits; answer with Answered (or HungUp)."""
    sound: str
    timeout_ms: int
    max_digits: int = 1
    max_seconds: float = 30.0        # prompt length bound, the wait for keys comes on top


@dataclass(frozen=True)
class SetVariable:
    """SET VARIABLE name value; answer with VariableSet (or HungUp)."""
    name: str
    value: str


@dataclass(frozen=True)
class RecordOptOut:
    """Record her opt-out now (the shell's store); answer with OptOutRecorded.  Nothing is
    played until the answer comes: she is told it is done only once it is."""


@dataclass(frozen=True)
class AskQuestions:
    """The message's questions now (plan.questions), before the goodbye; answer with
    QuestionsAsked (or HungUp). ivr/call_questions.py asks them (ivr/questions.py)."""


@dataclass(frozen=True)
class CallResult:
    heard_seconds: float     # furthest point reached in the message, seconds
    heard_share: float       # heard_seconds / message_seconds, in [0, 1]
    plays: int               # times the message was started
    keys: str                # every key she pressed, in order
    opted_out: bool
    call_centre: bool        # she asked for the call centre (0, one being configured)
    ended: str               # see the module docstring


@dataclass(frozen=True)
class Finish:
    result: CallResult


Action = Play | Ask | SetVariable | RecordOptOut | AskQuestions | Finish


# ---- events (adapter -> flow) ----

@dataclass(frozen=True)
class Played:
    endpos: int | None       # sample position reached (None: not reported)
    digit: str | None        # the escape digit that interrupted it, if any


@dataclass(frozen=True)
class Answered:
    digits: str | None
    timed_out: bool


@dataclass(frozen=True)
class VariableSet:
    pass


@dataclass(frozen=True)
class OptOutRecorded:
    ok: bool                 # False: not recorded (the store failed); she is still subscribed


@dataclass(frozen=True)
class QuestionsAsked:
    pass


@dataclass(frozen=True)
class HungUp:
    endpos: int | None = None    # where the interrupted play stopped, when known


Event = Played | Answered | VariableSet | OptOutRecorded | QuestionsAsked | HungUp

# states
(_GREETING, _MESSAGE, _MENU, _INVALID, _CONFIRM, _RECORDING, _CLOSING, _RESULT_SET,
 _DONE, _QUESTIONS) = range(10)


@dataclass
class CallFlow:
    plan: CallPlan
    _state: int = field(default=-1, init=False)
    _furthest: int = field(default=0, init=False)
    _plays: int = field(default=0, init=False)
    _misses: int = field(default=0, init=False)
    _keys: list[str] = field(default_factory=list, init=False)
    _opted_out: bool = field(default=False, init=False)
    _call_centre: bool = field(default=False, init=False)
    _ended: str = field(default="", init=False)
    _pending: Action | None = field(default=None, init=False)

    # -- public --

    def start(self) -> Action:
        if self._state != -1:
            raise RuntimeError("CallFlow.start() called twice")
        self._state = _GREETING
        return self._emit(Play(self._prompt(C.PROMPT_GREETING),
                               max_seconds=self.plan.prompt_max_seconds))

    def step(self, event: Event) -> Action:
        pending = self._pending
        if pending is None or isinstance(pending, Finish):
            raise RuntimeError(f"CallFlow.step({event!r}): the flow is not waiting for an event")
        if isinstance(event, HungUp) and not isinstance(pending, RecordOptOut):
            return self._hung_up(event)
        expected = {Play: Played, Ask: Answered, SetVariable: VariableSet,
                    RecordOptOut: OptOutRecorded, AskQuestions: QuestionsAsked}[type(pending)]
        if not isinstance(event, expected):
            raise ValueError(f"CallFlow.step: {type(pending).__name__} is answered by "
                             f"{expected.__name__}, got {event!r}")
        state = self._state
        if state == _GREETING:
            return self._play_message()
        if state == _MESSAGE:
            assert isinstance(event, Played)
            self._reached(event.endpos, interrupted=event.digit is not None)
            if event.digit:
                return self._choice(event.digit)
            return self._menu()
        if state == _MENU:
            assert isinstance(event, Answered)
            digit = (event.digits or "")[:1]
            if not digit:
                return self._miss()
            return self._choice(digit)
        if state == _INVALID:
            return self._menu()
        if state == _CONFIRM:
            assert isinstance(event, Answered)
            digit = (event.digits or "")[:1]
            self._key(digit)
            if digit == C.KEY_CONFIRM:
                self._state = _RECORDING
                return self._emit(RecordOptOut())
            return self._miss()      # not confirmed: counts as a miss, back to the menu
        if state == _RECORDING:
            assert isinstance(event, OptOutRecorded)
            if event.ok:
                self._opted_out = True
                return self._closing(C.PROMPT_OPTOUT_DONE, ENDED_OPTED_OUT)
            return self._closing(C.PROMPT_OPTOUT_FAILED, ENDED_OPT_OUT_FAILED)
        if state == _QUESTIONS:
            return self._closing(C.PROMPT_GOODBYE, self._ended, asked=True)
        if state == _CLOSING:
            return self._set_result()
        if state == _RESULT_SET:
            return self._finish(self._ended)
        raise RuntimeError(f"CallFlow in unexpected state {state}")

    @property
    def result(self) -> CallResult:
        """What happened so far (final once a Finish was returned)."""
        return self._result(self._ended or ENDED_HANGUP)

    # -- transitions --

    def _emit(self, action: Action) -> Action:
        self._pending = action
        return action

    def _prompt(self, name: str) -> str:
        return self.plan.prompts[name]

    def _escape_digits(self) -> str:
        keys = C.KEY_REPLAY + (C.KEY_CALL_CENTRE if self.plan.call_centre else "") + C.KEY_STOP
        return "".join(dict.fromkeys(keys))

    def _play_message(self) -> Action:
        self._state = _MESSAGE
        self._plays += 1
        return self._emit(Play(self.plan.message, self._escape_digits(),
                               max_seconds=(self.plan.message_seconds + 5.0
                                            if self.plan.message_seconds > 0 else 900.0)))

    def _menu(self) -> Action:
        self._state = _MENU
        return self._emit(Ask(self._prompt(C.PROMPT_MENU), self.plan.menu_timeout_ms,
                              max_seconds=self.plan.prompt_max_seconds))

    def _miss(self) -> Action:
        self._misses += 1
        if self._misses >= 2:
            return self._closing(C.PROMPT_GOODBYE, ENDED_NO_INPUT)
        self._state = _INVALID
        return self._emit(Play(self._prompt(C.PROMPT_INVALID),
                               max_seconds=self.plan.prompt_max_seconds))

    def _choice(self, digit: str) -> Action:
        """A key pressed during the message or at the menu."""
        self._key(digit)
        if digit == C.KEY_REPLAY:
            if self._plays < self.plan.max_plays:
                return self._play_message()
            return self._closing(C.PROMPT_GOODBYE, ENDED_COMPLETED)
        if digit == C.KEY_CALL_CENTRE and self.plan.call_centre:
            self._call_centre = True
            return self._closing(C.PROMPT_CALL_CENTRE, ENDED_CALL_CENTRE)
        if digit == C.KEY_STOP:
            self._state = _CONFIRM
            return self._emit(Ask(self._prompt(C.PROMPT_OPTOUT_CONFIRM), self.plan.menu_timeout_ms,
                                  max_seconds=self.plan.prompt_max_seconds))
        return self._miss()

    def _closing(self, prompt: str, ended: str, asked: bool = False) -> Action:
        self._ended = ended
        if self.plan.questions and not asked and ended in (ENDED_NO_INPUT, ENDED_COMPLETED):
            self._state = _QUESTIONS       # she heard it to a normal end: her questions first
            return self._emit(AskQuestions())
        self._state = _CLOSING
        return self._emit(Play(self._prompt(prompt), max_seconds=self.plan.prompt_max_seconds))

    def _set_result(self) -> Action:
        self._state = _RESULT_SET
        return self._emit(SetVariable(C.VAR_RESULT, self._ended))

    def _hung_up(self, event: HungUp) -> Action:
        if self._state == _MESSAGE:
            self._reached(event.endpos, interrupted=True)
        # an opt-out confirmed stays done even if she hangs up during the "done" prompt;
        # a call-centre request does not: the transfer will not happen.  A hang-up during the
        # goodbye does not change how the call ended either.
        if self._state in (_QUESTIONS, _CLOSING, _RESULT_SET) and \
                self._ended != ENDED_CALL_CENTRE:
            return self._finish(self._ended)
        return self._finish(ENDED_HANGUP)

    def _finish(self, ended: str) -> Action:
        self._state = _DONE
        self._ended = ended
        return self._emit(Finish(self._result(ended)))

    # -- bookkeeping --

    def _key(self, digit: str) -> None:
        if digit and len(self._keys) < 64:
            self._keys.append(digit)

    def _reached(self, endpos: int | None, interrupted: bool) -> None:
        full = round(self.plan.message_seconds * self.plan.sample_rate)
        if endpos is None or endpos < 0:
            pos = 0 if interrupted else full     # unknown: played to the end unless interrupted
        else:
            pos = endpos
        self._furthest = max(self._furthest, pos)

    def _result(self, ended: str) -> CallResult:
        seconds = self._furthest / self.plan.sample_rate
        total = self.plan.message_seconds
        if total > 0:
            seconds = min(seconds, total)
            share = min(1.0, max(0.0, seconds / total))
        else:
            share = 0.0
        return CallResult(heard_seconds=seconds, heard_share=share, plays=self._plays,
                          keys="".join(self._keys), opted_out=self._opted_out,
                          call_centre=self._call_centre, ended=ended)
