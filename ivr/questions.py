"""Her answers to a message's questions, by keypad: a pure state machine (issue 15).

Events in, actions out, like ivr/flow.py, with the same actions and events (Ask is AGI's
GET DATA, Play its STREAM FILE):

    machine = QuestionMachine(plan)
    action = machine.start()
    while not isinstance(action, QuestionsDone):
        action = machine.step(<Answered, Played or HungUp for that action>)

Each question in turn: its prompt is asked (GET DATA, prompt interruptible by the first key).
- yes_no / choice: one key; it must be one of the question's keys (1 yes, 2 no for yes_no).
- number: digits ended by #. GET DATA ends on # (and leaves it out), on silence (timed_out,
  with the digits typed so far) or after `max_digits`. The machine asks for one digit more
  than the longest valid answer, so an answer ended by # is the digits without a time-out;
  digits that time out (no #) or reach the extra digit (too long) are not an answer. The
  value is the digits read with the question's decimals (`123` with 1 decimal = 12.3) and
  must be inside its range. A trailing "#" in the digits (an adapter that keeps it) is read
  as the ending too.
A miss (silence, a wrong key, # alone, a number out of range, too long or not ended by #)
plays the "invalid" prompt and asks the question once more; a second miss skips it (an
Answer with status skipped). A hang-up at any point ends the machine: the answers given
before it are kept (`result.answers`), the question being asked is not recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ivr.flow import Answered, Ask, HungUp, Played, Play
from scheduler.question_spec import Question
from scheduler.questions_model import Answer, AnswerStatus, AnswerType

ENDED_COMPLETED = "completed"    # every question answered or skipped
ENDED_HANGUP = "hangup"          # she hung up before the last one
MAX_KEYS = 64                    # keys kept in the result (a stuck key cannot grow it)


@dataclass(frozen=True)
class QuestionPlan:
    questions: tuple[Question, ...]
    prompts: Mapping[str, str]         # question key -> sound path of its prompt, her language
    invalid: str                       # sound path of the short "not understood" prompt
    timeout_ms: int = 5000             # silence after a yes_no / choice prompt: a miss
    number_timeout_ms: int = 8000      # silence before or between a number's digits: a miss
    prompt_max_seconds: float = 30.0   # upper bound of any prompt's length (adapter timeouts)

    def __post_init__(self) -> None:
        missing = [q.key for q in self.questions if not self.prompts.get(q.key)]
        if missing:
            raise ValueError(f"QuestionPlan.prompts lacks {', '.join(missing)}")
        if not self.invalid:
            raise ValueError("QuestionPlan.invalid: empty sound path")
        if min(self.timeout_ms, self.number_timeout_ms) < 500:
            raise ValueError("QuestionPlan: time-outs under 500 ms")
        if len({q.key for q in self.questions}) != len(self.questions):
            raise ValueError("QuestionPlan.questions: a question twice")


@dataclass(frozen=True)
class QuestionsResult:
    answers: tuple[Answer, ...]        # in the order asked: answered or skipped
    keys: str                          # the keys she pressed, in order (# as she ended numbers)
    ended: str                         # ENDED_COMPLETED or ENDED_HANGUP


@dataclass(frozen=True)
class QuestionsDone:
    result: QuestionsResult


QuestionAction = Ask | Play | QuestionsDone
QuestionEvent = Answered | Played | HungUp


@dataclass
class QuestionMachine:
    plan: QuestionPlan
    _index: int = field(default=-1, init=False)     # the question being asked
    _misses: int = field(default=0, init=False)     # of the question being asked
    _answers: list[Answer] = field(default_factory=list, init=False)
    _keys: list[str] = field(default_factory=list, init=False)
    _pending: QuestionAction | None = field(default=None, init=False)

    def start(self) -> QuestionAction:
        if self._index != -1:
            raise RuntimeError("QuestionMachine.start() called twice")
        return self._next()

    def step(self, event: QuestionEvent) -> QuestionAction:
        pending = self._pending
        if pending is None or isinstance(pending, QuestionsDone):
            raise RuntimeError(f"QuestionMachine.step({event!r}): not waiting for an event")
        if isinstance(event, HungUp):
            return self._done(ENDED_HANGUP)
        expected = Answered if isinstance(pending, Ask) else Played
        if not isinstance(event, expected):
            raise ValueError(f"QuestionMachine.step: {type(pending).__name__} is answered by "
                             f"{expected.__name__}, got {event!r}")
        if isinstance(event, Played):          # the "invalid" prompt: ask once more
            return self._ask()
        assert isinstance(event, Answered)
        question = self.plan.questions[self._index]
        value = self._read(question, event)
        if value is not None:
            self._answers.append(Answer(question.key, AnswerStatus.ANSWERED, value,
                                        question.decimals))
            return self._next()
        self._misses += 1
        if self._misses >= 2:
            self._answers.append(Answer(question.key, AnswerStatus.SKIPPED, None,
                                        question.decimals))
            return self._next()
        return self._emit(Play(self.plan.invalid, max_seconds=self.plan.prompt_max_seconds))

    @property
    def result(self) -> QuestionsResult:
        """What she answered so far (final once QuestionsDone was returned)."""
        pending = self._pending
        if isinstance(pending, QuestionsDone):
            return pending.result
        return self._result(ENDED_HANGUP)

    # -- transitions --

    def _emit(self, action: QuestionAction) -> QuestionAction:
        self._pending = action
        return action

    def _next(self) -> QuestionAction:
        self._index += 1
        self._misses = 0
        if self._index >= len(self.plan.questions):
            return self._done(ENDED_COMPLETED)
        return self._ask()

    def _ask(self) -> QuestionAction:
        q = self.plan.questions[self._index]
        if q.type is AnswerType.NUMBER:
            return self._emit(Ask(self.plan.prompts[q.key], self.plan.number_timeout_ms,
                                  max_digits=q.max_digits + 1,
                                  max_seconds=self.plan.prompt_max_seconds))
        return self._emit(Ask(self.plan.prompts[q.key], self.plan.timeout_ms, max_digits=1,
                              max_seconds=self.plan.prompt_max_seconds))

    def _done(self, ended: str) -> QuestionAction:
        return self._emit(QuestionsDone(self._result(ended)))

    def _result(self, ended: str) -> QuestionsResult:
        return QuestionsResult(tuple(self._answers), "".join(self._keys)[:MAX_KEYS], ended)

    # -- reading keys --

    def _read(self, question: Question, event: Answered) -> int | None:
        digits = event.digits or ""
        ended = digits.endswith("#")
        digits = digits.removesuffix("#")
        if question.type is AnswerType.NUMBER:
            ended = ended or (bool(digits) and not event.timed_out)
        self._key(digits + ("#" if ended else ""))
        if question.type is AnswerType.NUMBER and not ended:
            return None
        return question.read(digits)

    def _key(self, keys: str) -> None:
        if len(self._keys) < MAX_KEYS:
            self._keys.append(keys)
