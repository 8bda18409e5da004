"""The questions of a programme file (`[[question]]`), and which message each follows. Pure.

A question has a stable key, a prompt (an audio key) in every language of the programme, and
an answer type: `yes_no` (key 1 = yes, 2 = no), `choice` (one of the listed keys 1-9), or
`number` (digits ended by #, read with `decimals`: `123#` with 1 decimal is 12.3, valid when
inside [min, max]). It follows either the listed `messages`, or the first message of each
week of a `track` or of each of several (`track = ["pregnancy", "infant"]`): every week, or
the completed weeks `weeks = [first, last]`; so at most once a week on a track. Format and
examples: scheduler/programmes/README.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from scheduler.content import MAX_WEEK, ErrorFn, Message, Track
from scheduler.questions_model import NO, YES, AnswerType
from scheduler.table_entry import KEY, TableEntry

MAX_DECIMALS = 3
MAX_NUMBER_DIGITS = 9        # a longer keypad entry is a stuck key, not a measure
_QUESTION_KEYS = ("key", "type", "prompts", "keys", "decimals", "min", "max", "track", "weeks",
                  "messages", "note")


@dataclass(frozen=True)
class Question:
    key: str
    type: AnswerType
    prompts: Mapping[str, str] = field(hash=False)   # language -> audio key of its prompt
    keys: tuple[int, ...] = (YES, NO)   # yes_no: (1, 2); choice: the allowed keys; number: ()
    decimals: int = 0                   # number: digits typed after the (unspoken) point
    minimum: int = 0                    # number: the valid range, scaled by decimals
    maximum: int = 0
    tracks: tuple[Track, ...] = ()      # asked after the first message of each week of these
    weeks: tuple[int, int] | None = None    # ... in these completed weeks (None: all)
    messages: frozenset[str] = frozenset()  # or after these messages

    @property
    def max_digits(self) -> int:
        """The most digits a valid answer has (a number's # not counted)."""
        return len(str(self.maximum)) if self.type is AnswerType.NUMBER else 1

    def read(self, digits: str) -> int | None:
        """The value of keys typed (without the ending #), or None when not a valid answer."""
        if not digits.isdigit() or not digits.isascii():
            return None
        if self.type is not AnswerType.NUMBER:
            return int(digits) if len(digits) == 1 and int(digits) in self.keys else None
        if len(digits) > self.max_digits:
            return None
        value = int(digits)
        return value if self.minimum <= value <= self.maximum else None

    def follows(self, message: Message, first_of_week: bool) -> bool:
        """Is it asked after this message? (`first_of_week`: the message is the first of its
        track's week.)"""
        if message.key in self.messages:
            return True
        if message.track not in self.tracks or not first_of_week:
            return False
        return self.weeks is None or self.weeks[0] <= message.week <= self.weeks[1]


def scaled(value: object, decimals: int) -> int | None:
    """A range bound from the file as an int scaled by decimals; None when it cannot be typed
    on the keypad with that many decimals (negative, more decimals, not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        exact = Decimal(str(value)).scaleb(decimals)
    except InvalidOperation:
        return None
    if exact < 0 or exact != exact.to_integral_value():
        return None
    return int(exact)


def unscaled(value: int, decimals: int) -> str:
    return f"{Decimal(value).scaleb(-decimals):.{decimals}f}"


def build_questions(items: list[Any], languages: tuple[str, ...], messages: tuple[Message, ...],
                    error: ErrorFn) -> tuple[Question, ...]:
    """The `[[question]]` entries, checked; `error(message, section, key, index)`."""
    out: list[Question] = []
    seen: set[str] = set()
    message_keys = {m.key for m in messages}
    for i, item in enumerate(items):
        q = _Entry(item, i, error).question(languages, message_keys)
        if q.key in seen:
            raise error(f"question key {q.key!r} is used twice", "question", "key", i)
        seen.add(q.key)
        out.append(q)
    return tuple(out)


def questions_after(questions: tuple[Question, ...], messages: tuple[Message, ...],
                    message: Message) -> tuple[Question, ...]:
    """The questions asked after `message` (one of `messages`, the programme's), in file order."""
    first = min((m.day for m in messages if m.track is message.track and m.week == message.week),
                default=message.day)
    return tuple(q for q in questions if q.follows(message, message.day == first))


class _Entry(TableEntry):
    """One `[[question]]` table being read."""
    section = "question"
    label = "question"
    known = _QUESTION_KEYS

    def question(self, languages: tuple[str, ...], message_keys: set[str]) -> Question:
        key = self.key()
        kind = self.word("type", AnswerType)
        prompts = self.prompts(languages)
        tracks, weeks, messages = self.when(message_keys)
        if kind is AnswerType.NUMBER:
            decimals, low, high = self.number_range()
            return Question(key, kind, prompts, (), decimals, low, high, tracks, weeks, messages)
        for name in ("decimals", "min", "max"):
            if name in self.item:
                raise self.error(f"{name} is for a number question, not {kind.value}", name)
        keys = self.choice_keys() if kind is AnswerType.CHOICE else (YES, NO)
        if kind is AnswerType.YES_NO and "keys" in self.item:
            raise self.error("a yes_no question has the keys 1 (yes) and 2 (no): no keys", "keys")
        return Question(key, kind, prompts, keys, 0, 0, 0, tracks, weeks, messages)

    def prompts(self, languages: tuple[str, ...]) -> dict[str, str]:
        table = self.item.get("prompts")
        if not isinstance(table, dict):
            raise self.error("prompts must be a table of audio keys by language, e.g. "
                             "prompts = { hi = \"q-fever-hi\" }",
                             "prompts" if "prompts" in self.item else None)
        missing = [lang for lang in languages if lang not in table]
        if missing:
            raise self.error(f"no prompt in {', '.join(missing)} (every language of the "
                             f"programme needs one: {', '.join(languages)})", "prompts")
        extra = sorted(set(table) - set(languages))
        if extra:
            raise self.error(f"prompt in {extra[0]!r}, not a language of the programme", "prompts")
        for lang, audio in table.items():
            if not (isinstance(audio, str) and KEY.fullmatch(audio)):
                raise self.error(f"prompt in {lang!r} must be an audio key (lower-case letters, "
                                 f"digits, '_' and '-'), got {audio!r}", "prompts")
        return {lang: table[lang] for lang in languages}

    def when(self, message_keys: set[str]) -> tuple[tuple[Track, ...], tuple[int, int] | None,
                                                    frozenset[str]]:
        listed = self.item.get("messages")
        if ("track" in self.item) == (listed is not None):
            raise self.error("give either track (with weeks, optional) or messages: which "
                             "messages the question follows",
                             "messages" if listed is not None else None)
        if listed is not None:
            if "weeks" in self.item:
                raise self.error("weeks goes with track, not with messages", "weeks")
            if not (isinstance(listed, list) and listed and all(isinstance(k, str)
                                                                  for k in listed)):
                raise self.error("messages must be a non-empty list of message keys", "messages")
            unknown = [k for k in listed if k not in message_keys]
            if unknown:
                raise self.error(f"messages names {unknown[0]!r}, not a message of the programme",
                                 "messages")
            return (), None, frozenset(listed)
        given = self.item["track"]
        names = given if isinstance(given, list) else [given]
        try:
            tracks = tuple(Track(t) for t in names)
        except ValueError:
            tracks = ()
        if not tracks or len(set(tracks)) != len(tracks):
            raise self.error(f"track must be \"pregnancy\", \"infant\" or a list of both, got "
                             f"{given!r}", "track")
        weeks = self.item.get("weeks")
        if weeks is None:
            return tracks, None, frozenset()
        last = min(MAX_WEEK[t] for t in tracks)
        if not (isinstance(weeks, list) and len(weeks) == 2 and all(type(w) is int for w in weeks)
                and 0 <= weeks[0] <= weeks[1] <= last):
            raise self.error(f"weeks must be [first, last], completed weeks 0..{last} "
                             f"with first <= last, got {weeks!r}", "weeks")
        return tracks, (weeks[0], weeks[1]), frozenset()

    def choice_keys(self) -> tuple[int, ...]:
        keys = self.item.get("keys")
        if not (isinstance(keys, list) and keys):
            raise self.error("a choice question needs keys, the keys she may press (1-9), "
                             "e.g. keys = [1, 2, 3]", "keys" if "keys" in self.item else None)
        if not all(type(k) is int and 1 <= k <= 9 for k in keys) or len(set(keys)) != len(keys):
            raise self.error(f"keys must be distinct keys from 1 to 9, got {keys!r}", "keys")
        return tuple(keys)

    def number_range(self) -> tuple[int, int, int]:
        if "keys" in self.item:
            raise self.error("keys is for a choice question; a number has min and max", "keys")
        decimals = self.item.get("decimals", 0)
        if type(decimals) is not int or not 0 <= decimals <= MAX_DECIMALS:
            raise self.error(f"decimals must be an integer from 0 to {MAX_DECIMALS}, "
                             f"got {decimals!r}", "decimals")
        bounds = []
        for name in ("min", "max"):
            if name not in self.item:
                raise self.error(f"a number question needs {name} (its valid range)", None)
            value = scaled(self.item[name], decimals)
            if value is None:
                raise self.error(f"{name} = {self.item[name]!r} cannot be typed on the keypad "
                                 f"with {decimals} decimal(s) (0 or more, at most {decimals} "
                                 "digit(s) after the point)", name)
            bounds.append(value)
        low, high = bounds
        if low > high:
            raise self.error(f"impossible range: min {self.item['min']!r} is above max "
                             f"{self.item['max']!r}", "min")
        if len(str(high)) > MAX_NUMBER_DIGITS:
            raise self.error(f"max {self.item['max']!r} needs more than {MAX_NUMBER_DIGITS} "
                             "digits on the keypad", "max")
        return decimals, low, high
