"""The FastAGI route `call`: what happens once she has answered.

Asterisk runs AGI(<url>/call,<attempt id>) from the ivr-outbound context. The route finds
the live call by attempt id and serves the session only when the channel holds that call's
secret token (IVR_AGI_TOKEN, set on the Originate, read here with GET VARIABLE: never an AGI()
argument, which Asterisk logs), on the channel the Originate named, once (FastAGI itself has
no authentication). It then picks the language to play (hers, or the programme's fallback when
her recording is missing: never silence), runs the pure in-call flow (which asks for her
opt-out to be recorded before she hears it is done), and reports what she heard to the
call's tracker (written with the call's end, ivr/controller.py).

Her message's questions (issue 15): when the message has questions (Programme.questions_after)
and the call has a woman, they are asked after a normal end of the message, in the language
the message played in (ivr/call_questions.py). A question prompt missing in that language:
the questions are not asked (logged as an error; nothing written): never a question in a
language the message was not in, nor a silent prompt. Her answers are written here, when
the flow ends (ivr/check_in.py), before the call's report goes to its tracker.
call's tracker (written with the call's end, ivr/controller.py). A notification call
(message key notify:come:<date>) plays the prompt "please come to the health centre on"
as its message, each full play followed by the day: the recorded prompts of the day of
the month and of the month, in her language (ivr.constants.PROMPT_DAYS, PROMPT_MONTHS).
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone

from audio.catalogue import Catalogue
from ivr import constants as C
from ivr.adapters.fastagi import AgiSession, run_flow
from ivr.call_questions import CallWithQuestions
from ivr.check_in import CheckIn
from ivr.adapters.log_throttle import LogThrottle
from ivr.adapters.store import DB_ERRORS, Store
from ivr.adapters.schedule_store import ScheduleStore
from ivr.call_tracker import Answered, Listening
from ivr.controller import Controller, LiveCall
from ivr.flow import ENDED_CALL_CENTRE, CallFlow, CallPlan
from ivr.questions import QuestionMachine, QuestionPlan
from ivr.phone import mask
from scheduler.model import SchedulerError
from scheduler.notifications import come_on_of
from scheduler.programme import Programme
from scheduler.question_spec import Question

log = logging.getLogger(__name__)

OPT_OUT_ACTOR = "ivr"
OPT_OUT_REASON = "by_user_ivr"
# call_centre_list.reason when her opt-out by key could not be recorded
CALL_CENTRE_OPT_OUT = "opt_out_not_recorded"
# IVR_RESULT of a session refused (unknown attempt, bad token, foreign channel)
RESULT_REFUSED = "unknown_call"

# A Local channel's name carries the dialled number ("Local/919000021@sim-phones-0000002a;1").
# Only a digit run that starts a word is a number: the channel's counter ("-0000002a") is not.
_NUMBER_IN_CHANNEL = re.compile(r"(?<![-\w])\d{5,}")


def masked_channel(channel: str) -> str:
    """The channel name with any phone number in it masked but for its last 3 digits."""
    return _NUMBER_IN_CHANNEL.sub(lambda m: mask(m.group()), channel)


def question_plan(catalogue: Catalogue, questions: tuple[Question, ...], audio: dict[str, str],
                  lang: str, programme: str) -> QuestionPlan:
    """The questions with their prompts' paths (`audio`: each question's audio key) and the
    invalid-key prompt, the programme's own recordings first."""
    return QuestionPlan(questions, {q: catalogue.sound_for(lang, a, programme)
                                    for q, a in audio.items()},
                        invalid=catalogue.sound_for(lang, C.PROMPT_INVALID, programme))


def day_prompts(come_on: date | None) -> tuple[str, ...]:
    """The prompts that say the day she is expected: day of the month, then month."""
    if come_on is None:
        return ()
    return C.PROMPT_DAYS[come_on.day - 1], C.PROMPT_MONTHS[come_on.month - 1]


class Told:
    """Tells Asterisk IVR_SERVED=1 with no await (AgiSession.send), once; the reply is read
    later (AgiSession.reply)."""

    def __init__(self, session: AgiSession):
        self.session = session
        self.sent = False

    def __call__(self) -> None:
        if not self.sent:
            self.session.send("SET", "VARIABLE", C.VAR_SERVED, "1")
            self.sent = True


class CallRoute:
    def __init__(self, controller: Controller, store: Store, catalogue: Catalogue,
                 fallback_language: str, schedule: ScheduleStore):
        """`schedule`: the scheduling store opt-outs go through."""
        self.controller = controller
        self.store = store
        self.catalogue = catalogue
        self.fallback_language = fallback_language
        self.schedule = schedule
        self.check_in = CheckIn(schedule)
        # a local process can open sessions at will: their refusals cannot flood the log
        self._refusals = LogThrottle(log, logging.WARNING)

    async def __call__(self, session: AgiSession) -> None:
        call = await self._live_call(session)
        if call is None:
            await session.command("SET", "VARIABLE", C.VAR_RESULT, RESULT_REFUSED)
            return
        listening = None
        try:
            # Asterisk is told IVR_SERVED=1 inside her answer's transaction, and its COMMIT
            # is sent right after, in the same step of the event loop: from IVR_SERVED on
            # she hears her message whatever becomes of this process (the route plays it,
            # or the dialplan's fallback does: dialplan/ivr-fallback.conf), and an answer
            # written means a message she hears (the reap rule, scheduler/rules.py
            # `reaped`). Killed before both writes: nothing told, nothing written (the
            # apology, called again); after both: both land (dialplan/README.md, "One
            # window is left").
            answers = self.controller.agi_takes(call)   # any other session refused now
            await self._answer(session, call, answers)
            listening = await self._play(session, call)
        finally:
            # what she heard goes with the call's report to the one write of its end
            self.controller.agi_done(call, listening)

    async def _answer(self, session: AgiSession, call: LiveCall,
                      answers: list[Answered]) -> None:
        """Her answer written with IVR_SERVED=1 sent just before its COMMIT (or, the database
        away, kept for its return and IVR_SERVED=1 sent after), Asterisk's reply read after.
        When it cannot be written (its COMMIT included), the call ends as failed and she is
        called again: IVR_SERVED is cleared, so the fallback plays her the apology, not her
        message (never twice)."""
        told = Told(session)
        try:
            await self.controller.agi_begins(call, answers, told)
        except Exception:
            try:
                if told.sent:
                    await session.reply()
                await session.command("SET", "VARIABLE", C.VAR_SERVED, "0")
            except Exception as e:      # she or Asterisk is gone: nothing more plays
                log.warning("attempt %s: IVR_SERVED not cleared (%s)", call.attempt_id,
                            type(e).__name__)
            raise
        told()               # not sent yet: no answer to write, or the database away
        await session.reply()

    async def _live_call(self, session: AgiSession) -> LiveCall | None:
        """The live call this session belongs to, or None (logged once): FastAGI has no
        authentication, so a session is served only when its channel holds the call's secret
        token (IVR_AGI_TOKEN), on the channel the Originate named, once."""
        request = session.request
        args = request.args
        attempt_id = int(args[0]) if args and args[0].isdigit() else None
        call = self.controller.live.get(attempt_id) if attempt_id is not None else None
        if call is None:
            why = "no live call of that attempt"
        elif not call.owns_agi(await self._token(session), request.uniqueid):
            why = "wrong or missing token, or not the call's channel"
        elif call.agi_started:
            why = "the call has its session already"
        else:
            return call
        self._refusals.log("FastAGI session refused (%s): attempt %r, uniqueid %r, channel %s",
                           why, args[0][:20] if args else None, request.uniqueid[:40],
                           masked_channel(request.channel[:80]))
        return None

    @staticmethod
    async def _token(session: AgiSession) -> str:
        reply = await session.command("GET", "VARIABLE", C.VAR_AGI_TOKEN)
        return reply.data if reply.result == "1" and reply.data else ""

    async def _play(self, session: AgiSession, call: LiveCall) -> Listening | None:
        attempt_id, language = call.attempt_id, call.request.language
        key = call.request.message_key
        come_on = come_on_of(key)           # a notification: its prompt, then the day said
        if come_on is not None:
            key = C.PROMPT_NOTIFY_COME
        programme = await self._her_programme(call)
        fallback = (self.fallback_language if programme is self.schedule.programme
                    else programme.fallback_language)
        own = programme.name            # her programme's own recordings first
        played = self.catalogue.language_for(language, key, fallback, own)
        if played is None:
            log.error("attempt %s: message %s missing in %s and in the fallback %s",
                      attempt_id, key, language, fallback)
            await session.command("SET", "VARIABLE", C.VAR_RESULT, "no_audio")
            return None
        if played != language:
            log.warning("attempt %s: message %s missing in %s, playing %s", attempt_id, key,
                        language, played)
            await session.command("SET", "VARIABLE", "CHANNEL(language)", played)
        questions = self._questions(call, played, programme)
        plan = CallPlan(
            attempt_id=attempt_id,
            message=self.catalogue.sound_for(played, key, own),
            message_seconds=self.catalogue.duration(played, key, own) or 0.0,
            language=played,
            prompts=self.catalogue.prompts(played, own),
            call_centre=self.controller.config.call_centre,
            questions=questions is not None,
            then=tuple(self.catalogue.sound_for(played, name, own)
                       for name in day_prompts(come_on)),
        )
        flow = CallFlow(plan)
        driven = flow if questions is None else CallWithQuestions(flow, QuestionMachine(questions))
        result = await run_flow(session, driven, record_opt_out=lambda: self._opt_out(
            session, attempt_id, call.request.subscriber_id))
        answers = None
        if isinstance(driven, CallWithQuestions):
            answers = await self.check_in.record(call, questions, result, driven.questions,
                                                 self.controller.clock())
        if result.call_centre:
            log.info("attempt %s: she asked for the call centre (%s)", attempt_id,
                     "transferring" if result.ended == ENDED_CALL_CENTRE else
                     f"not transferred: {result.ended}")
        return Listening(heard_seconds=result.heard_seconds, message_seconds=plan.message_seconds,
                         heard_share=result.heard_share, ended=result.ended, keys=result.keys,
                         language_played=played, plays=result.plays, answers=answers)

    async def _her_programme(self, call: LiveCall) -> Programme:
        """Her programme (several in the installation: her record's); the default one for a
        call with no woman, or when the database cannot say (logged)."""
        sub_id = call.request.subscriber_id
        if sub_id is None:
            return self.schedule.programme
        try:
            return (await self.schedule.hers(sub_id)).programme
        except DB_ERRORS as e:
            log.warning("attempt %s: her programme unknown (%s: %s): the default's rules",
                        call.attempt_id, type(e).__name__, e)
            return self.schedule.programme

    def _questions(self, call: LiveCall, played: str,
                   programme: Programme) -> QuestionPlan | None:
        """Her message's questions in the language it plays in; None when it has none, the
        call has no woman, or a prompt is missing in that language (logged)."""
        if call.request.subscriber_id is None:
            return None
        try:
            questions = programme.questions_after(call.request.message_key)
        except KeyError:
            return None
        if not questions:
            return None
        audio = {q.key: q.prompts.get(played, "") for q in questions}
        missing = [a or q for q, a in audio.items()
                   if not a or self.catalogue.duration(played, a, programme.name) is None]
        if missing:
            log.error("attempt %s: question prompt(s) %s missing in %s: questions not asked",
                      call.attempt_id, ", ".join(missing), played)
            return None
        return question_plan(self.catalogue, questions, audio, played, programme.name)

    async def _opt_out(self, session: AgiSession, attempt_id: int,
                       subscriber_id: int | None) -> bool:
        """She confirmed 9 then 1: end her subscription now, before she is told it is done.
        False when it could not be recorded: she is then put on the call centre's list (she
        hears that a health worker will call her)."""
        channel = session.request.channel
        if subscriber_id is None:
            log.info("attempt %s: opt-out confirmed on a call with no subscriber (test call, "
                     "%s): nothing to record", attempt_id, masked_channel(channel))
            return True
        now = datetime.fromtimestamp(self.controller.clock(), timezone.utc)
        try:
            sub = await self.schedule.opt_out(
                subscriber_id, now, actor=OPT_OUT_ACTOR, reason=OPT_OUT_REASON,
                detail={"via": "key", "channel": masked_channel(channel), "attempt": attempt_id})
        except SchedulerError as e:
            # no such woman, or her subscription had already ended: she gets no more calls
            log.info("attempt %s: opt-out by key of subscriber %s not applied: %s", attempt_id,
                     subscriber_id, e)
            return True
        except Exception as e:      # whatever failed, she must not be told it is done
            log.error("attempt %s: opt-out of subscriber %s NOT recorded (%s: %s); she is told "
                      "the call centre will call her", attempt_id, subscriber_id,
                      type(e).__name__, e)
            await self._call_centre_list(attempt_id, subscriber_id)
            return False
        log.info("attempt %s: subscriber %s opted out by key (%s)", attempt_id, subscriber_id,
                 sub.status.value)
        return True

    async def _call_centre_list(self, attempt_id: int, subscriber_id: int) -> None:
        try:
            await self.store.add_to_call_centre_list(subscriber_id, attempt_id,
                                                     CALL_CENTRE_OPT_OUT, self.controller.clock())
        except DB_ERRORS as e:
            log.error("attempt %s: subscriber %s could not be put on the call centre's list "
                      "either (%s): an operator must call her", attempt_id, subscriber_id, e)
            return
        log.warning("attempt %s: subscriber %s put on the call centre's list (%s)", attempt_id,
                    subscriber_id, CALL_CENTRE_OPT_OUT)
