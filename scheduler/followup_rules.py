"""Follow-up rules of a programme file (`[[followup]]`) and their evaluation. Pure.

A rule opens a follow-up for her when, in one week's answers:
- `equals = "yes"` (or "no"): a yes_no question answered so;
- `in = [3, 4]`: a choice question answered with one of these keys;
- `outside = [min, max]`: a number answered below min or above max;
- `change = "lower"` (or "higher"): a number answered lower (higher) than her latest answer
  to it in the `look_back_weeks` weeks before (default 1: last week's);
- `absent_weeks = N`: N weeks in a row in which she was asked (a check-in was due) and
  answered nothing (or, with `question`, not that question); it opens in the N-th week only.
A follow-up has the rule's `reason` (plain words; a description of the rule by default), a
due date `due_days` after the day of the answers, and an `owner` role. Format:
scheduler/programmes/README.md.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from scheduler.content import ErrorFn
from scheduler.question_spec import Question, scaled, unscaled
from scheduler.table_entry import TableEntry
from scheduler.questions_model import (NO, YES, Answer, AnswerType, FollowUpToOpen,
                                       OwnerRole)

MAX_DUE_DAYS = 365
MAX_WEEKS = 52
_CONDITIONS = ("equals", "in", "outside", "change", "absent_weeks")
_RULE_KEYS = ("key", "question", "reason", "owner", "due_days", "look_back_weeks", "note",
              *_CONDITIONS)
_WORDS = {"yes": YES, "no": NO}


@dataclass(frozen=True)
class FollowUpRule:
    key: str
    owner: OwnerRole
    due_days: int
    reason: str
    condition: str                       # one of _CONDITIONS
    question: Question | None = None     # None: an absence of any answer
    values: tuple[int, ...] = ()         # equals / in: the values that open; outside: (min, max)
    lower: bool = True                   # change: lower (True) or higher
    weeks: int = 1                       # change: look-back weeks; absent_weeks: N


def build_followup_rules(items: list[Any], questions: tuple[Question, ...],
                         error: ErrorFn) -> tuple[FollowUpRule, ...]:
    """The `[[followup]]` entries, checked; `error(message, section, key, index)`."""
    by_key = {q.key: q for q in questions}
    out: list[FollowUpRule] = []
    for i, item in enumerate(items):
        rule = _Entry(item, i, error).rule(by_key)
        if rule.key in {r.key for r in out}:
            raise error(f"follow-up rule key {rule.key!r} is used twice", "followup", "key", i)
        out.append(rule)
    return tuple(out)


def followups_to_open(rules: Sequence[FollowUpRule], week: int, answers: Sequence[Answer],
                      earlier: Mapping[int, Sequence[Answer]],
                      today: date) -> tuple[FollowUpToOpen, ...]:
    """The follow-ups her answers of `week` open. `earlier`: her answers by week (the weeks a
    check-in was due; a week asked and unanswered maps to no answers, a week with no check-in
    due is left out); `today`: her local date, due dates count from it."""
    out = []
    for rule in rules:
        if _opens(rule, week, answers, earlier):
            q = rule.question
            out.append(FollowUpToOpen(rule.key, rule.reason, today + timedelta(days=rule.due_days),
                                      rule.owner, q.key if q is not None else None))
    return tuple(out)


def _opens(rule: FollowUpRule, week: int, answers: Sequence[Answer],
           earlier: Mapping[int, Sequence[Answer]]) -> bool:
    if rule.condition == "absent_weeks":
        def silent(w: int) -> bool:
            got = answers if w == week else earlier.get(w)
            return got is not None and not _answered(rule.question, got)
        run = [silent(w) for w in range(week - rule.weeks, week + 1)]   # week - N .. week
        return all(run[1:]) and not run[0]
    assert rule.question is not None
    now = _value(rule.question, answers)
    if now is None:
        return False
    if rule.condition in ("equals", "in"):
        return now in rule.values
    if rule.condition == "outside":
        low, high = (Decimal(v).scaleb(-rule.question.decimals) for v in rule.values)
        return not low <= now <= high
    before = next((v for w in range(week - 1, week - rule.weeks - 1, -1)
                   if (v := _value(rule.question, earlier.get(w, ()))) is not None), None)
    if before is None:
        return False
    return now < before if rule.lower else now > before


def _answered(question: Question | None, answers: Sequence[Answer]) -> bool:
    return any(a.answered and (question is None or a.question_key == question.key)
               for a in answers)


def _value(question: Question, answers: Sequence[Answer]) -> Decimal | None:
    """Her answer to the question, exactly (None: not answered)."""
    return next((a.number for a in answers
                 if a.question_key == question.key and a.number is not None), None)


class _Entry(TableEntry):
    """One `[[followup]]` table being read."""
    section = "followup"
    label = "follow-up rule"
    known = _RULE_KEYS

    def rule(self, questions: Mapping[str, Question]) -> FollowUpRule:
        key = self.key()
        given = [c for c in _CONDITIONS if c in self.item]
        if len(given) != 1:
            raise self.error(f"give exactly one condition of {', '.join(_CONDITIONS)}",
                             given[1] if given else None)
        condition = given[0]
        question = self.question(questions, required=condition != "absent_weeks")
        owner = self.word("owner", OwnerRole)
        due = self.item.get("due_days", 1)
        if type(due) is not int or not 0 <= due <= MAX_DUE_DAYS:
            raise self.error(f"due_days must be an integer from 0 to {MAX_DUE_DAYS}, got {due!r}",
                             "due_days")
        base = FollowUpRule(key, owner, due, "", condition, question)
        rule = self.condition(base, condition)
        reason = self.item.get("reason", describe(rule))
        if not (isinstance(reason, str) and reason.strip()):
            raise self.error("reason must be a non-empty text", "reason")
        return FollowUpRule(rule.key, rule.owner, rule.due_days, reason, rule.condition,
                            rule.question, rule.values, rule.lower, rule.weeks)

    def question(self, questions: Mapping[str, Question], required: bool) -> Question | None:
        name = self.item.get("question")
        if name is None and not required:
            return None
        if name is None:
            raise self.error("question is required: the question whose answer the rule reads",
                             None)
        if name not in questions:
            raise self.error(f"question {name!r} is not a question of the programme (known: "
                             f"{', '.join(questions) or 'none'})", "question")
        return questions[name]

    def condition(self, rule: FollowUpRule, condition: str) -> FollowUpRule:
        value = self.item[condition]
        q = rule.question
        if "look_back_weeks" in self.item and condition != "change":
            raise self.error("look_back_weeks goes with change", "look_back_weeks")
        if condition == "absent_weeks":
            if type(value) is not int or not 1 <= value <= MAX_WEEKS:
                raise self.error(f"absent_weeks must be an integer from 1 to {MAX_WEEKS}, "
                                 f"got {value!r}", condition)
            return replace(rule, weeks=value)
        assert q is not None
        if condition == "equals":
            if q.type is not AnswerType.YES_NO:
                raise self.error(f"equals compares a yes/no answer; question {q.key!r} is "
                                 f"{q.type.value} (use {_use(q)})", condition)
            if value not in _WORDS:
                raise self.error(f"equals must be \"yes\" or \"no\", got {value!r}", condition)
            return replace(rule, values=(_WORDS[value],))
        if condition == "in":
            if q.type is not AnswerType.CHOICE:
                raise self.error(f"in lists keys of a choice; question {q.key!r} is "
                                 f"{q.type.value} (use {_use(q)})", condition)
            if not (isinstance(value, list) and value and all(k in q.keys for k in value)):
                raise self.error(f"in must list keys of question {q.key!r} "
                                 f"({', '.join(map(str, q.keys))}), got {value!r}", condition)
            return replace(rule, values=tuple(value))
        if q.type is not AnswerType.NUMBER:
            raise self.error(f"{condition} compares numbers; question {q.key!r} is "
                             f"{q.type.value} (use {_use(q)})", condition)
        if condition == "outside":
            bounds = [b for v in value if (b := scaled(v, q.decimals)) is not None] \
                if isinstance(value, list) and len(value) == 2 else []
            if len(bounds) != 2 or bounds[0] > bounds[1]:
                raise self.error(f"outside must be [min, max], min <= max, numbers of 0 or more "
                                 f"with at most {q.decimals} decimal(s), got {value!r}",
                                 condition)
            return replace(rule, values=(bounds[0], bounds[1]))
        if value not in ("lower", "higher"):
            raise self.error(f"change must be \"lower\" or \"higher\", got {value!r}", condition)
        back = self.item.get("look_back_weeks", 1)
        if type(back) is not int or not 1 <= back <= MAX_WEEKS:
            raise self.error(f"look_back_weeks must be an integer from 1 to {MAX_WEEKS}, "
                             f"got {back!r}", "look_back_weeks")
        return replace(rule, lower=value == "lower", weeks=back)


def _use(q: Question) -> str:
    return {AnswerType.YES_NO: "equals", AnswerType.CHOICE: "in",
            AnswerType.NUMBER: "outside or change"}[q.type]


def describe(rule: FollowUpRule) -> str:
    """The rule in plain words (the default reason)."""
    q = rule.question
    if rule.condition == "absent_weeks":
        if q is not None:
            return f"{q.key} unanswered for {rule.weeks} week(s)"
        return f"no check-in answered for {rule.weeks} week(s)"
    assert q is not None
    if rule.condition == "equals":
        return f"{q.key}: {'yes' if rule.values == (YES,) else 'no'}"
    if rule.condition == "in":
        return f"{q.key}: answered {' or '.join(map(str, rule.values))}"
    if rule.condition == "outside":
        low, high = (unscaled(v, q.decimals) for v in rule.values)
        return f"{q.key} outside {low}-{high}"
    last = "last week's" if rule.weeks == 1 else f"the last in {rule.weeks} weeks"
    return f"{q.key} {'lower' if rule.lower else 'higher'} than {last}"
