"""The FastAGI route `inbound`: the answered line (issue 15), a second DID beside the
missed-call one (dialplan/ivr-inbound.conf runs AGI(<url>/inbound,<DID digits>)).

Who called comes from the caller ID (the dialplan keeps only its digits): an active or paused
woman on that number, else an active worker (role agent or health worker), else unknown. The
pure flow (ivr/inbound_flow.py) decides what is heard and asked; this shell plays it, and
makes each change through the scheduling store's own methods with actor "line" (audited
there): change_slot, update(language=...), open_follow_up (her baby is born: her health
worker confirms the date, else the pool), opt_out. An agent's child code is her subscriber id,
accepted only for a child the worker follows (assignments); her answers are stored with
record_answers (attempt: none, the line's call is no attempt; week: the ISO week of the
child's local date) and the programme's follow-up rules are run on them. Every call is one
row of inbound_calls (ivr/adapters/inbound_calls.py), the caller masked.

FastAGI has no authentication: a session is served only when Asterisk proves it knows the
line's secret (ivr/line_secret.py): the route reads the dialplan global IVR_LINE_SECRET with
GET VARIABLE and compares it in constant time. Missing or wrong: nothing is read or changed,
IVR_RESULT stays unset (the dialplan plays the apology and hangs up), one throttled log line
without the caller's number.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from audio.catalogue import Catalogue
from ivr import constants as C
from ivr.adapters import inbound_calls
from ivr.adapters.fastagi import AgiSession, perform
from ivr.adapters.inbound_calls import InboundCall
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import DB_ERRORS, Store
from ivr.adapters.subscribers import find_caller
from ivr.adapters.log_throttle import LogThrottle
from ivr.agi_route import CALL_CENTRE_OPT_OUT, question_plan
from ivr.line_secret import GLOBAL_NAME, proves
from ivr.flow import (Answered, Ask, HungUp, OptOutRecorded, Play, Played, RecordOptOut,
                      SetVariable)
from ivr.inbound_flow import (CALLER_AGENT, CALLER_UNKNOWN, CALLER_WOMAN, AskQuestions,
                              ChangeLanguage, Changed, ChangeSlot, ChildFound, FindChild,
                              LineAction, LineEvent, LineFinish, LineFlow, LinePlan, LineResult,
                              ChildQuestionsAsked, Recording, ReportBirth)
from ivr.phone import mask
from ivr.questions import QuestionMachine, QuestionsDone
from scheduler.followup_rules import followups_to_open
from scheduler.followups import Worker, iso_week
from scheduler.model import DeliveryStatus, SchedulerError, Subscriber
from scheduler.programme import Programme
from scheduler.question_spec import Question
from scheduler.questions_model import Answer, FollowUpToOpen, OwnerRole

log = logging.getLogger(__name__)

ACTOR = "line"
OPT_OUT_REASON = "by_user_line"
BIRTH_RULE = "line-birth"            # the follow-up "she says her baby is born"
BIRTH_REASON = "she called the line: her baby is born; confirm the date of birth"
BIRTH_DUE_DAYS = 3
AGENT_ROLES = (OwnerRole.AGENT, OwnerRole.HEALTH_WORKER)


def week_number(week: str) -> int:
    """'2026-W49' as a count of weeks (consecutive weeks are consecutive numbers)."""
    year, w = week.split("-W")
    return date.fromisocalendar(int(year), int(w), 1).toordinal() // 7


class InboundRoute:
    def __init__(self, store: Store, schedule: ScheduleStore, programme: Programme,
                 catalogue: Catalogue, *, call_centre: bool, clock: Callable[[], float],
                 secret: str):
        """`secret`: the line's secret Asterisk must show (ivr/line_secret.py)."""
        self.secret = secret
        # anyone who can connect can open sessions at will: their refusals cannot flood the log
        self._refusals = LogThrottle(log, logging.WARNING)
        self.store = store
        self.schedule = schedule
        self.programme = programme
        self.catalogue = catalogue
        self.call_centre = call_centre
        self.clock = clock

    async def _proven(self, session: AgiSession) -> bool:
        """True when the session's Asterisk knows the line's secret; else logged (throttled,
        no caller number) and False."""
        reply = await session.command("GET", "VARIABLE", GLOBAL_NAME)
        offered = reply.data if reply.result == "1" else None
        if proves(self.secret, offered):
            return True
        self._refusals.log("line: refused FastAGI session %s: %s", session.name,
                           "no line secret" if offered is None else "wrong line secret")
        return False

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    async def __call__(self, session: AgiSession) -> None:
        if not await self._proven(session):
            return
        started = self._now()
        args = session.request.args
        did = re.sub(r"\D", "", args[0])[:16] if args else ""
        digits, woman = await find_caller(self.store, session.request.callerid,
                                          [p.region for p in self.schedule.programmes])
        programme = (await self.schedule.hers(woman.id)).programme if woman else self.programme
        worker = None
        if woman is None and digits:
            worker = await inbound_calls.worker_on(self.store, digits)
            if worker is not None and worker.role not in AGENT_ROLES:
                worker = None
        caller = CALLER_WOMAN if woman else CALLER_AGENT if worker else CALLER_UNKNOWN
        language = woman.language if woman else programme.fallback_language
        if not self.catalogue.has(language, C.PROMPT_LINE_MENU, programme.name):
            language = programme.fallback_language
        plan = await self._plan(caller, woman, language, programme)
        call = _Call(self, session, woman, worker, language, programme.name)
        # (a caller gone already: the flow's first step sees the hang-up, the call is recorded)
        await perform(session, SetVariable("CHANNEL(language)", language))
        result = await call.run(LineFlow(plan))
        log.info("line %s: %s caller %s, %s (%s)", did, caller, mask(digits) if digits else "-",
                 result.ended, " ".join(result.done) or "nothing changed")
        try:
            await inbound_calls.record_inbound_call(self.store, InboundCall(
                started_at=started, ended_at=self._now(), did=did,
                caller=mask(digits) if digits else "", kind=caller, ended=result.ended,
                subscriber_id=woman.id if woman else call.last_child,
                worker_id=worker.id if worker else None, keys=result.keys,
                played=result.played, done=result.done))
        except DB_ERRORS as e:
            log.error("line %s: the call could not be recorded (%s: %s)", did,
                      type(e).__name__, e)

    async def _plan(self, caller: str, woman: Subscriber | None, language: str,
                    programme: Programme) -> LinePlan:
        latest = previous = None
        if woman is not None:
            keys = [self._recording(language, k, programme.name)
                    for k in await self.messages_of(woman)]
            latest = keys[0] if keys else None
            previous = keys[1] if len(keys) > 1 else None
        return LinePlan(
            caller=caller,
            prompts=self.catalogue.prompts(language, programme.name),
            latest=latest, previous=previous,
            slots=tuple(s.name for s in programme.slots)[:9],
            languages=programme.languages[:9], call_centre=self.call_centre)

    def _recording(self, language: str, key: str, programme: str) -> Recording:
        return Recording(self.catalogue.sound_for(language, key, programme),
                         self.catalogue.duration(language, key, programme) or 0.0)

    async def messages_of(self, woman: Subscriber) -> list[str]:
        """Her latest message first (the last delivered, else the current one), then the one
        before it; messages cancelled (another track) are not hers."""
        now = self._now()
        owed = sorted((d for d in await self.schedule.deliveries_of(woman.id)
                       if d.status is not DeliveryStatus.CANCELLED and d.due_at <= now),
                      key=lambda d: (d.due_at, d.id))
        delivered = [i for i, d in enumerate(owed) if d.status is DeliveryStatus.DELIVERED]
        last = delivered[-1] if delivered else len(owed) - 1
        return [owed[i].message_key for i in range(last, max(last - 2, -1), -1)]

    def questions_for(self, child: Subscriber, latest: str | None,
                      programme: Programme) -> tuple[Question, ...]:
        """The questions of her latest message, else every question of her track (of her
        programme's)."""
        asked = programme.questions_after(latest) if latest else ()
        return asked or tuple(q for q in programme.questions if child.track in q.tracks)


class _Call:
    """One session of the line: the flow's shell actions against the store."""

    def __init__(self, route: InboundRoute, session: AgiSession, woman: Subscriber | None,
                 worker: Worker | None, language: str, programme: str):
        """`programme`: the caller's (her own recordings are played first)."""
        self.route = route
        self.programme = programme
        self.session = session
        self.woman = woman
        self.worker = worker
        self.language = language
        self.last_child: int | None = None
        self._child: tuple[Subscriber, tuple[Question, ...], str] | None = None

    async def run(self, flow: LineFlow) -> LineResult:
        action: LineAction = flow.start()
        while not isinstance(action, LineFinish):
            event: LineEvent
            if isinstance(action, (Play, Ask, SetVariable)):
                event = await perform(self.session, action)
            elif isinstance(action, RecordOptOut):
                event = OptOutRecorded(ok=await self._opt_out())
            elif isinstance(action, (ChangeSlot, ChangeLanguage, ReportBirth)):
                event = Changed(ok=await self._change(action))
            elif isinstance(action, FindChild):
                event = await self._find_child(action.code)
            else:
                assert isinstance(action, AskQuestions)
                event = await self._questions()
            action = flow.step(event)
        return action.result

    async def _change(self, action: ChangeSlot | ChangeLanguage | ReportBirth) -> bool:
        assert self.woman is not None
        sub_id, now, schedule = self.woman.id, self.route._now(), self.route.schedule
        try:
            if isinstance(action, ChangeSlot):
                await schedule.change_slot(sub_id, action.slot, now, actor=ACTOR)
            elif isinstance(action, ChangeLanguage):
                await schedule.update(sub_id, now, actor=ACTOR, language=action.language)
            else:
                today = now.astimezone(ZoneInfo(self.woman.timezone)).date()
                await schedule.open_follow_up(sub_id, FollowUpToOpen(
                    BIRTH_RULE, BIRTH_REASON, today + timedelta(days=BIRTH_DUE_DAYS),
                    OwnerRole.HEALTH_WORKER), now, actor=ACTOR)
        except Exception as e:      # whatever failed, she must not hear it is saved
            log.error("line: %s for woman %s not saved (%s: %s)", type(action).__name__,
                      sub_id, type(e).__name__, e)
            return False
        return True

    async def _opt_out(self) -> bool:
        assert self.woman is not None
        sub_id, route = self.woman.id, self.route
        try:
            await route.schedule.opt_out(sub_id, route._now(), actor=ACTOR,
                                         reason=OPT_OUT_REASON, detail={"via": "line"})
        except SchedulerError as e:     # her subscription had ended already
            log.info("line: opt-out of woman %s not applied: %s", sub_id, e)
        except Exception as e:
            log.error("line: opt-out of woman %s NOT recorded (%s: %s); on the call centre's "
                      "list", sub_id, type(e).__name__, e)
            try:
                await route.store.add_to_call_centre_list(sub_id, None, CALL_CENTRE_OPT_OUT,
                                                          route.clock())
            except Exception as e2:
                log.error("line: woman %s not on the call centre's list either (%s): an "
                          "operator must call her", sub_id, e2)
            return False
        return True

    async def _find_child(self, code: str) -> ChildFound:
        assert self.worker is not None
        route, self._child = self.route, None
        follows = await route.schedule.assignments(subscriber_id=int(code),
                                                   worker_id=self.worker.id)
        if not follows:
            log.info("line: worker %s keyed a code that is not one of theirs", self.worker.id)
            return ChildFound(found=False)
        child = await route.schedule.subscriber(int(code))
        if child.status.value not in ("active", "paused"):
            return ChildFound(found=False)
        keys = await route.messages_of(child)
        latest = keys[0] if keys else None
        programme = (await route.schedule.hers(child.id)).programme
        questions = route.questions_for(child, latest, programme)
        self._child = (child, questions, programme.name)    # her programme's prompts
        return ChildFound(found=True, has_questions=bool(questions))

    async def _questions(self) -> ChildQuestionsAsked:
        assert self._child is not None and self.worker is not None
        child, questions, programme = self._child
        route, lang = self.route, self.language
        plan = question_plan(route.catalogue, questions,
                             {q.key: q.prompts[lang] for q in questions}, lang, programme)
        machine = QuestionMachine(plan)
        action = machine.start()
        while not isinstance(action, QuestionsDone):
            event = await perform(self.session, action)
            assert isinstance(event, (Answered, Played, HungUp))
            action = machine.step(event)
        result = action.result
        self.last_child = child.id
        await self._store_answers(child, list(result.answers))
        return ChildQuestionsAsked(answered=len(result.answers), hung_up=result.ended == "hangup")

    async def _store_answers(self, child: Subscriber, answers: list[Answer]) -> None:
        if not answers:
            return
        route, now = self.route, self.route._now()
        today = now.astimezone(ZoneInfo(child.timezone)).date()
        week = iso_week(today)
        try:
            stored = await route.schedule.record_answers(child.id, None, week, answers, now,
                                                         actor=ACTOR)
            earlier: dict[int, list[Answer]] = {}
            programme = (await route.schedule.hers(child.id)).programme
            questions = {q.key: q for q in programme.questions}
            for a in await route.schedule.answers_of(child.id):
                q = questions.get(a.question)
                if a.week != week and a.value is not None and q is not None:
                    earlier.setdefault(week_number(a.week), []).append(Answer(
                        a.question, a.status, int(Decimal(a.value).scaleb(q.decimals)),
                        q.decimals))
            for f in followups_to_open(programme.followups, week_number(week), answers,
                                       earlier, today):
                answer_id = next((s.id for s in stored if s.question == f.question_key), None)
                await route.schedule.open_follow_up(child.id, f, now, answer_id=answer_id,
                                                    actor=ACTOR)
        except Exception as e:
            log.error("line: answers for child %s not stored (%s: %s)", child.id,
                      type(e).__name__, e)
