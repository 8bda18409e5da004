"""The answered line (issue 15): what a caller hears and can do, a pure state machine.

Events in, actions out, like ivr/flow.py (same Play, Ask, SetVariable, RecordOptOut actions and
Played, Answered, VariableSet, OptOutRecorded, HungUp events); the shell (ivr/inbound_route.py)
decides who called before the flow starts:

- a known woman (her caller ID is an active or paused woman's number): her latest message
  (the last delivered, else the current one) plays at once, then the menu: 1 that message
  again, 2 the previous one, 3 change her time slot (then 1..n: the programme's slots in
  order), 4 change her language (1..n: the programme's languages), 5 "my baby is born"
  (confirmed with 1: a follow-up asks her health worker to confirm the date), 0 the call
  centre (when one is configured), 9 stop the calls (confirmed with 1, an opt-out as 9-1 in
  an outbound call). Every prompt of hers can be interrupted by a menu key, so keys pressed
  early are never lost. Each change is asked of the shell (ChangeSlot, ChangeLanguage,
  ReportBirth, RecordOptOut) and she hears whether it was saved only once it is.
- an unknown caller: a short explanation, 0 for the call centre (when configured), goodbye.
- an agent (a registered worker's phone, role agent or health worker): the child's code
  (her subscriber id) ended by #; the shell checks the child is one the worker follows
  (FindChild), then asks that child's questions of the week (AskQuestions: the shell runs the
  question machine, ivr/questions.py, stores the answers and opens the follow-ups), and the
  agent can key the next child's code.
Two misses in a row (silence, a wrong key) end the call with goodbye ("no_input"); a valid
choice starts the count again. At most ``max_choices`` menu choices per call, so a stuck key
cannot hold a channel ("completed" then). Endings (VAR_RESULT) as in ivr/flow.py: no_input,
completed, opted_out, opt_out_failed, call_centre, hangup.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ivr import constants as C
from ivr.flow import (ENDED_CALL_CENTRE, ENDED_COMPLETED, ENDED_HANGUP, ENDED_NO_INPUT,
                      ENDED_OPT_OUT_FAILED, ENDED_OPTED_OUT, Answered, Ask, HungUp,
                      OptOutRecorded, Play, Played, RecordOptOut, SetVariable, VariableSet)

CALLER_WOMAN = "woman"
CALLER_UNKNOWN = "unknown"
CALLER_AGENT = "agent"
CALLERS = (CALLER_WOMAN, CALLER_UNKNOWN, CALLER_AGENT)

# what she did, in LineResult.done
DID_SLOT = "slot"              # "slot:<name>"
DID_LANGUAGE = "language"      # "language:<code>"
DID_BIRTH = "birth"
DID_OPT_OUT = "opt_out"
DID_CHILD = "child"            # "child:<code>": an agent answered that child's questions


@dataclass(frozen=True)
class Recording:
    sound: str                 # full sound path without extension
    seconds: float = 0.0       # its length (0: unknown)


@dataclass(frozen=True)
class LinePlan:
    caller: str                               # one of CALLERS
    prompts: Mapping[str, str]                # prompt name -> full sound path
    latest: Recording | None = None           # her latest message (woman)
    previous: Recording | None = None         # the one before it
    slots: tuple[str, ...] = ()               # key n picks slots[n - 1]
    languages: tuple[str, ...] = ()           # key n picks languages[n - 1]
    call_centre: bool = False
    timeout_ms: int = 5000                    # silence after a menu before it is a miss
    code_timeout_ms: int = 8000               # silence before / between a code's digits
    max_code_digits: int = 9
    max_choices: int = 20
    prompt_max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.caller not in CALLERS:
            raise ValueError(f"LinePlan.caller: {self.caller!r} is not one of {CALLERS}")
        if min(self.timeout_ms, self.code_timeout_ms) < 500:
            raise ValueError("LinePlan: time-outs under 500 ms")
        if len(self.slots) > 9:
            raise ValueError("LinePlan.slots: at most 9 (one key each)")
        if len(self.languages) > 9:
            raise ValueError("LinePlan.languages: at most 9 (one key each)")
        needed = {CALLER_WOMAN: [C.PROMPT_LINE_MENU, C.PROMPT_LINE_NO_MESSAGE, C.PROMPT_LINE_SLOTS,
                                 C.PROMPT_LINE_LANGUAGES, C.PROMPT_LINE_BIRTH_CONFIRM,
                                 C.PROMPT_LINE_BIRTH_NOTED, C.PROMPT_LINE_CHANGED,
                                 C.PROMPT_LINE_NOT_CHANGED, C.PROMPT_OPTOUT_CONFIRM,
                                 C.PROMPT_OPTOUT_DONE, C.PROMPT_OPTOUT_FAILED],
                  CALLER_UNKNOWN: [C.PROMPT_LINE_UNKNOWN],
                  CALLER_AGENT: [C.PROMPT_LINE_CODE, C.PROMPT_LINE_CODE_UNKNOWN,
                                 C.PROMPT_LINE_NO_QUESTIONS, C.PROMPT_LINE_SAVED]}[self.caller]
        needed += [C.PROMPT_INVALID, C.PROMPT_GOODBYE]
        if self.call_centre:
            needed.append(C.PROMPT_CALL_CENTRE)
        missing = [p for p in needed if not self.prompts.get(p)]
        if missing:
            raise ValueError(f"LinePlan.prompts lacks {', '.join(missing)}")


# ---- actions of the line (flow -> shell), beside ivr/flow.py's ----

@dataclass(frozen=True)
class ChangeSlot:
    """Change her slot (the store, actor "line"); answer with Changed."""
    slot: str


@dataclass(frozen=True)
class ChangeLanguage:
    """Change her language; answer with Changed."""
    language: str


@dataclass(frozen=True)
class ReportBirth:
    """Open the follow-up that confirms her baby's birth date; answer with Changed."""


@dataclass(frozen=True)
class FindChild:
    """Is `code` a child the calling worker follows, with questions this week? Answer with
    ChildFound."""
    code: str


@dataclass(frozen=True)
class AskQuestions:
    """Ask the found child's questions (the question machine), store the answers and open the
    follow-ups; answer with ChildQuestionsAsked."""
    code: str


@dataclass(frozen=True)
class LineResult:
    caller: str
    ended: str
    keys: str                      # every key pressed at the line's own prompts, in order
    played: tuple[str, ...]        # "latest" / "previous", each time one was started
    done: tuple[str, ...]          # what was changed or answered (DID_*), in order
    call_centre: bool


@dataclass(frozen=True)
class LineFinish:
    result: LineResult


LineAction = (Play | Ask | SetVariable | RecordOptOut | ChangeSlot | ChangeLanguage | ReportBirth
              | FindChild | AskQuestions | LineFinish)


@dataclass(frozen=True)
class Changed:
    ok: bool                       # False: not saved (the store failed or refused)


@dataclass(frozen=True)
class ChildFound:
    found: bool                    # a child the worker follows
    has_questions: bool = False


@dataclass(frozen=True)
class ChildQuestionsAsked:
    answered: int                  # answers stored (skipped ones included)
    hung_up: bool


LineEvent = (Played | Answered | VariableSet | OptOutRecorded | HungUp | Changed | ChildFound
             | ChildQuestionsAsked)

_ANSWERS = {Play: Played, Ask: Answered, SetVariable: VariableSet, RecordOptOut: OptOutRecorded,
            ChangeSlot: Changed, ChangeLanguage: Changed, ReportBirth: Changed,
            FindChild: ChildFound, AskQuestions: ChildQuestionsAsked}
_SHELL_ACTIONS = (RecordOptOut, ChangeSlot, ChangeLanguage, ReportBirth, FindChild, AskQuestions)

(_MENU_PLAY, _MENU, _SLOT, _LANGUAGE, _BIRTH, _CONFIRM, _SHELL, _UNKNOWN, _CODE, _AGENT_PROMPT,
 _CLOSING, _RESULT_SET, _DONE) = range(13)


@dataclass
class LineFlow:
    plan: LinePlan
    _state: int = field(default=-1, init=False)
    _misses: int = field(default=0, init=False)
    _choices: int = field(default=0, init=False)
    _keys: list[str] = field(default_factory=list, init=False)
    _played: list[str] = field(default_factory=list, init=False)
    _done: list[str] = field(default_factory=list, init=False)
    _call_centre: bool = field(default=False, init=False)
    _ended: str = field(default="", init=False)
    _pending: LineAction | None = field(default=None, init=False)

    def start(self) -> LineAction:
        if self._state != -1:
            raise RuntimeError("LineFlow.start() called twice")
        caller = self.plan.caller
        if caller == CALLER_WOMAN:
            return self._recording("latest", self.plan.latest)
        if caller == CALLER_UNKNOWN:
            self._state = _UNKNOWN
            return self._ask(C.PROMPT_LINE_UNKNOWN)
        return self._code()

    def step(self, event: LineEvent) -> LineAction:
        pending = self._pending
        if pending is None or isinstance(pending, LineFinish):
            raise RuntimeError(f"LineFlow.step({event!r}): the flow is not waiting for an event")
        if isinstance(event, HungUp) and not isinstance(pending, _SHELL_ACTIONS):
            return self._hung_up()
        expected = _ANSWERS[type(pending)]
        if not isinstance(event, expected):
            raise ValueError(f"LineFlow.step: {type(pending).__name__} is answered by "
                             f"{expected.__name__}, got {event!r}")
        state = self._state
        if state == _MENU_PLAY:             # a message or a short prompt, menu keys escape it
            assert isinstance(event, Played)
            if event.digit:
                self._key(event.digit)
                return self._choice(event.digit)
            return self._menu()
        if state == _AGENT_PROMPT:          # a short prompt, then the next code
            return self._code()
        if state in (_MENU, _UNKNOWN, _SLOT, _LANGUAGE, _BIRTH, _CONFIRM, _CODE):
            assert isinstance(event, Answered)
            return self._answered(state, event)
        if state == _SHELL:
            return self._shell_done(pending, event)
        if state == _CLOSING:
            self._state = _RESULT_SET
            return self._emit(SetVariable(C.VAR_RESULT, self._ended))
        if state == _RESULT_SET:
            return self._finish(self._ended)
        raise RuntimeError(f"LineFlow in unexpected state {state}")

    @property
    def result(self) -> LineResult:
        """What happened so far (final once a LineFinish was returned)."""
        return self._result(self._ended or ENDED_HANGUP)

    # -- transitions --

    def _emit(self, action: LineAction) -> LineAction:
        self._pending = action
        return action

    def _prompt(self, name: str) -> str:
        return self.plan.prompts[name]

    def _menu_keys(self) -> str:
        keys = (C.KEY_LINE_AGAIN + C.KEY_LINE_PREVIOUS + C.KEY_LINE_SLOT + C.KEY_LINE_LANGUAGE
                + C.KEY_LINE_BIRTH + (C.KEY_CALL_CENTRE if self.plan.call_centre else "")
                + C.KEY_STOP)
        return "".join(dict.fromkeys(keys))

    def _ask(self, prompt: str, max_digits: int = 1, timeout_ms: int | None = None) -> LineAction:
        return self._emit(Ask(self._prompt(prompt), timeout_ms or self.plan.timeout_ms,
                              max_digits=max_digits, max_seconds=self.plan.prompt_max_seconds))

    def _menu_play(self, sound: str, max_seconds: float) -> LineAction:
        self._state = _MENU_PLAY
        return self._emit(Play(sound, self._menu_keys(), max_seconds=max_seconds))

    def _recording(self, which: str, recording: Recording | None) -> LineAction:
        if recording is None:
            return self._menu_play(self._prompt(C.PROMPT_LINE_NO_MESSAGE),
                                   self.plan.prompt_max_seconds)
        self._played.append(which)
        seconds = recording.seconds + 5.0 if recording.seconds > 0 else 900.0
        return self._menu_play(recording.sound, seconds)

    def _menu(self) -> LineAction:
        self._state = _MENU
        return self._ask(C.PROMPT_LINE_MENU)

    def _code(self) -> LineAction:
        self._state = _CODE
        return self._ask(C.PROMPT_LINE_CODE, max_digits=self.plan.max_code_digits + 1,
                         timeout_ms=self.plan.code_timeout_ms)

    def _miss(self) -> LineAction:
        self._misses += 1
        if self._misses >= 2:
            return self._closing(C.PROMPT_GOODBYE, ENDED_NO_INPUT)
        if self.plan.caller == CALLER_AGENT:
            return self._agent_prompt(C.PROMPT_INVALID)
        return self._menu_play(self._prompt(C.PROMPT_INVALID), self.plan.prompt_max_seconds)

    def _answered(self, state: int, event: Answered) -> LineAction:
        digits = (event.digits or "").removesuffix("#")
        self._key(digits)
        if state == _CODE:
            if not digits.isdigit() or len(digits) > self.plan.max_code_digits:
                return self._miss()
            self._state = _SHELL
            return self._emit(FindChild(digits))
        digit = digits[:1]
        if state == _MENU:
            return self._choice(digit) if digit else self._miss()
        if state == _UNKNOWN:
            if digit == C.KEY_CALL_CENTRE and self.plan.call_centre:
                return self._to_call_centre()
            return self._closing(C.PROMPT_GOODBYE, ENDED_NO_INPUT)
        if state in (_SLOT, _LANGUAGE):
            options = self.plan.slots if state == _SLOT else self.plan.languages
            if not (digit.isdigit() and 1 <= int(digit) <= len(options)):
                return self._miss()
            self._state = _SHELL
            chosen = options[int(digit) - 1]
            return self._emit(ChangeSlot(chosen) if state == _SLOT else ChangeLanguage(chosen))
        if digit != C.KEY_CONFIRM:          # _BIRTH, _CONFIRM: not confirmed
            return self._miss()
        self._state = _SHELL
        return self._emit(ReportBirth() if state == _BIRTH else RecordOptOut())

    def _choice(self, digit: str) -> LineAction:
        """A menu key, pressed during a message, a prompt or at the menu."""
        if digit not in self._menu_keys() or not digit:
            return self._miss()
        self._misses = 0
        self._choices += 1
        if self._choices > self.plan.max_choices:
            return self._closing(C.PROMPT_GOODBYE, ENDED_COMPLETED)
        if digit == C.KEY_LINE_AGAIN:
            return self._recording("latest", self.plan.latest)
        if digit == C.KEY_LINE_PREVIOUS:
            return self._recording("previous", self.plan.previous)
        if digit == C.KEY_CALL_CENTRE:
            return self._to_call_centre()
        prompt, state = {C.KEY_LINE_SLOT: (C.PROMPT_LINE_SLOTS, _SLOT),
                         C.KEY_LINE_LANGUAGE: (C.PROMPT_LINE_LANGUAGES, _LANGUAGE),
                         C.KEY_LINE_BIRTH: (C.PROMPT_LINE_BIRTH_CONFIRM, _BIRTH),
                         C.KEY_STOP: (C.PROMPT_OPTOUT_CONFIRM, _CONFIRM)}[digit]
        self._state = state
        return self._ask(prompt)

    def _shell_done(self, pending: LineAction, event: LineEvent) -> LineAction:
        if isinstance(event, OptOutRecorded):
            if event.ok:
                self._done.append(DID_OPT_OUT)
                return self._closing(C.PROMPT_OPTOUT_DONE, ENDED_OPTED_OUT)
            return self._closing(C.PROMPT_OPTOUT_FAILED, ENDED_OPT_OUT_FAILED)
        if isinstance(event, ChildFound):
            assert isinstance(pending, FindChild)
            if not event.found:
                self._misses += 1
                if self._misses >= 2:
                    return self._closing(C.PROMPT_GOODBYE, ENDED_NO_INPUT)
                return self._agent_prompt(C.PROMPT_LINE_CODE_UNKNOWN)
            self._misses = 0
            if not event.has_questions:
                return self._agent_prompt(C.PROMPT_LINE_NO_QUESTIONS)
            return self._emit(AskQuestions(pending.code))
        if isinstance(event, ChildQuestionsAsked):
            assert isinstance(pending, AskQuestions)
            self._done.append(f"{DID_CHILD}:{pending.code}")
            if event.hung_up:
                return self._finish(ENDED_HANGUP)
            return self._agent_prompt(C.PROMPT_LINE_SAVED)
        assert isinstance(event, Changed)
        if event.ok:
            if isinstance(pending, ChangeSlot):
                self._done.append(f"{DID_SLOT}:{pending.slot}")
            elif isinstance(pending, ChangeLanguage):
                self._done.append(f"{DID_LANGUAGE}:{pending.language}")
            else:
                self._done.append(DID_BIRTH)
        prompt = C.PROMPT_LINE_NOT_CHANGED
        if event.ok:
            prompt = C.PROMPT_LINE_BIRTH_NOTED if isinstance(pending, ReportBirth) \
                else C.PROMPT_LINE_CHANGED
        return self._menu_play(self._prompt(prompt), self.plan.prompt_max_seconds)

    def _agent_prompt(self, prompt: str) -> LineAction:
        self._state = _AGENT_PROMPT
        return self._emit(Play(self._prompt(prompt), max_seconds=self.plan.prompt_max_seconds))

    def _to_call_centre(self) -> LineAction:
        self._call_centre = True
        return self._closing(C.PROMPT_CALL_CENTRE, ENDED_CALL_CENTRE)

    def _closing(self, prompt: str, ended: str) -> LineAction:
        self._state = _CLOSING
        self._ended = ended
        return self._emit(Play(self._prompt(prompt), max_seconds=self.plan.prompt_max_seconds))

    def _hung_up(self) -> LineAction:
        if self._state in (_CLOSING, _RESULT_SET) and self._ended != ENDED_CALL_CENTRE:
            return self._finish(self._ended)
        return self._finish(ENDED_HANGUP)

    def _finish(self, ended: str) -> LineAction:
        self._state = _DONE
        self._ended = ended
        return self._emit(LineFinish(self._result(ended)))

    def _key(self, digits: str) -> None:
        if digits and len(self._keys) < 64:
            self._keys.append(digits)

    def _result(self, ended: str) -> LineResult:
        return LineResult(caller=self.plan.caller, ended=ended, keys="".join(self._keys)[:64],
                          played=tuple(self._played), done=tuple(self._done),
                          call_centre=self._call_centre)
