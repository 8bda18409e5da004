"""`ivr women`: find, show and change the records of enrolled women. Every change is audited."""
from __future__ import annotations

import click

from ivr.commands.common import Group, confirm_destructive, emit_json, fail, pass_settings, say
from ivr.commands.enrol import parse_date_option
from ivr.commands.options import actor_option as _actor
from ivr.commands.options import reveal_option as _reveal
from ivr.commands.women_rights import erase_cmd, export_cmd
from ivr.commands.women_slots import suggest_slots_command

EVENTS = ("birth", "miscarriage", "still_birth", "infant_death", "maternal_death")


@click.group(name="women", cls=Group)
def command() -> None:
    """Find, show and change women's records (list, show, update, event, pause, resume,
    opt-out), the slots her answers suggest (suggest-slots), and her rights over her data
    (export, erase)."""


@command.command(name="list")
@click.option("--status", type=click.Choice(["active", "paused", "opted_out", "deactivated",
                                             "completed"]), help="Only women in this state.")
@click.option("--partner", help="Only this enrolment partner (exact name).")
@click.option("--language", "--lang", "language", help="Only this language.")
@click.option("--slot", help="Only this time slot.")
@click.option("--phone", help="The woman (or women, over time) on this number (a national "
              "number read in each programme's region).")
@click.option("--name", help="Names containing this text.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per woman.")
@_reveal
@pass_settings
def list_cmd(settings, status, partner, language, slot, phone, name, limit, as_json, reveal):
    """List women, oldest enrolment first.

    \b
    Example:
      ivr women list --status active --partner "KEM Hospital" --limit 20
      ivr women list --phone 9876543210
    """
    from ivr.operators.records import list_women
    from ivr.operators.session import audit_reveal, run
    from ivr.operators.text import table
    from ivr.phone import Phone, PhoneError

    config = settings.config
    digits: list[str] = []
    # the number as read in each programme's region: a national number of any of them
    for p in settings.programmes if phone else []:
        try:
            read = Phone.parse(phone, p.region, foreign=True).digits
        except PhoneError:
            read = "".join(ch for ch in phone if ch.isdigit())
        digits += [read] if read not in digits else []

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            return await list_women(sched.store, status=status, partner=partner,
                                    language=language, slot=slot, phones=digits, name=name,
                                    limit=limit, reveal=reveal, iso=as_json)

    rows = run(go())
    if reveal:
        audit_reveal(config, "women list", [r["id"] for r in rows])
    if as_json:
        for r in rows:
            emit_json(r)
        return
    if not rows:
        say("no woman matches")
        return
    for r in rows:
        r["dates"] = (f"dob {r['child_dob']}" if r["child_dob"] else f"edd {r['edd']}")
    several = ["programme"] if len(settings.programmes) > 1 else []   # whose rules she follows
    click.echo(table(rows, ["id", "phone", "name", *several, "language", "slot", "track",
                            "dates", "status", "partner", "enrolled_at"],
                     ["id", "phone", "name", *several, "lang", "slot", "track", "dates",
                      "status", "partner", "enrolled"]))


@command.command(name="show")
@click.argument("woman_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@_reveal
@pass_settings
def show_cmd(settings, woman_id, as_json, reveal):
    """Show one woman: her record, messages, recent calls, callbacks, answer pattern (per
    slot: her calls, answered, her estimated chance to answer there) and history.

    \b
    Example:
      ivr women show 42
    """
    record = _show(settings, woman_id, reveal, iso=as_json)
    if as_json:
        emit_json(record)
        return
    _print_record(record)


def _show(settings, woman_id: int, reveal: bool, command: str = "women show",
          actor: str | None = None, iso: bool = False) -> dict:
    from ivr.operators.records import show_woman
    from ivr.operators.session import audit_reveal, run
    from ivr.operators.slot_answers import answer_pattern

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            record = await show_woman(sched.store, woman_id, reveal=reveal, iso=iso)
            if record is not None:
                # per her programme's slots
                hers = (await sched.hers(woman_id)).programme
                record["answer_pattern"] = await answer_pattern(sched.store, hers, woman_id)
            return record

    record = run(go())
    if record is None:
        fail(f"no woman with id {woman_id} (find her with: ivr women list --phone ...)")
    if reveal:
        audit_reveal(settings.config, command, [woman_id], actor)
    return record


def _print_record(r: dict) -> None:
    from ivr.operators.text import table

    for key in ("id", "phone", "name", "language", "slot", "timezone", "programme", "track",
                "lmp", "edd", "child_dob", "partner", "health_worker", "consent_date",
                "status", "status_reason", "enrolled_at", "updated_at"):
        click.echo(f"{key:14} {r[key] if r[key] is not None else '-'}")
    for title, key, cols in (
            ("messages (latest first)", "deliveries",
             ["message", "status", "attempts", "due", "next_attempt", "heard_share"]),
            ("calls (latest first)", "calls",
             ["id", "at", "kind", "message", "attempt", "outcome", "heard", "keys",
              "answers"]),
            ("callbacks", "callbacks", ["requested", "status", "served"]),
            ("answer pattern (per slot; chance: hers, shrunk toward everyone's)",
             "answer_pattern", ["slot", "calls", "answered", "chance"]),
            ("answers (current, by week)", "answers",
             ["week", "question", "status", "value", "at"]),
            ("follow-ups", "follow_ups",
             ["id", "rule", "due_on", "role", "worker", "outcome", "closed"]),
            ("history", "history", ["at", "actor", "action", "detail"])):
        if r[key]:
            if key == "history":
                r[key] = [dict(h, detail=", ".join(f"{k}={v}" for k, v in
                                                   (h["detail"] or {}).items()))
                          for h in r[key]]
            click.echo(f"\n{title}:")
            click.echo(table(r[key], cols))


@command.command(name="update")
@click.argument("woman_id", type=int)
@click.option("--phone", help="Her new phone number.")
@click.option("--name", help="Her name.")
@click.option("--language", "--lang", "language", help="Her language.")
@click.option("--slot", help="Her time slot (her next call moves into it).")
@click.option("--timezone", help="Her IANA time zone.")
@click.option("--lmp", callback=parse_date_option, help="Corrected LMP (the EDD follows).")
@click.option("--edd", callback=parse_date_option, help="Corrected EDD (the LMP follows).")
@click.option("--partner", help="Enrolment partner.")
@click.option("--health-worker", help="Health worker.")
@click.option("--consent-date", callback=parse_date_option, help="Consent date.")
@click.option("--json", "as_json", is_flag=True, help="Print her record as JSON.")
@_actor
@_reveal
@pass_settings
def update_cmd(settings, woman_id, phone, name, language, slot, timezone, lmp, edd, partner,
               health_worker, consent_date, as_json, actor, reveal):
    """Fix her record. Her messages are planned again at once (a corrected LMP may change the
    message due). The history records who changed which fields, and when.

    \b
    Example:
      ivr women update 42 --phone 098765 43210 --slot 18-21
    """
    from ivr.operators.imports import check_consent_date
    from ivr.operators.normalise import short_text
    from ivr.operators.session import actor_name, utc_now
    from ivr.phone import Phone
    from scheduler.slots import local_date, zone

    programme = her_programme(settings, woman_id)
    fields = {}
    try:
        if phone is not None:
            fields["phone"] = Phone.parse(phone, programme.region,
                                          foreign=programme.allow_foreign_numbers).digits
        if consent_date is not None:
            check_consent_date(consent_date, local_date(utc_now(), zone(programme.timezone)))
        if timezone is not None:
            zone(timezone)
            fields["timezone"] = timezone
        for key, value in (("name", name), ("partner", partner),
                           ("health_worker", health_worker)):
            if value is not None:
                fields[key] = short_text(value, key)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    for key, value in (("language", language and language.lower()), ("lmp", lmp), ("edd", edd),
                       ("consent_date", consent_date)):
        if value is not None:
            fields[key] = value
    if not fields and slot is None:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    now, who = utc_now(), actor_name(actor)

    async def go():
        async with settings.open_schedule() as sched:
            async with sched.store.transaction():        # both changes, or neither
                if fields:
                    await sched.update(woman_id, now, actor=who, **fields)
                if slot is not None:
                    await sched.change_slot(woman_id, slot, now, actor=who)

    _change(go, settings, woman_id, as_json, reveal, f"updated woman {woman_id}: "
            + ", ".join(sorted(fields) + (["slot"] if slot else [])), actor, "women update")


def her_programme(settings, woman_id: int):
    """Her programme (its region reads her new number, its zone her consent date): the
    installation's one, or with several, her record's."""
    from ivr.operators.session import run

    if len(settings.programmes) == 1:
        return settings.programme

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            return (await sched.hers(woman_id)).programme
    return run(go())


def _change(go, settings, woman_id: int, as_json: bool, reveal: bool, done: str,
            actor: str | None, command: str) -> None:
    from ivr.operators.session import run

    run(go())
    say(done)
    record = _show(settings, woman_id, reveal, command, actor, iso=as_json)
    if as_json:
        emit_json(record)
    else:
        click.echo(f"woman {record['id']}: {record['phone']} {record['status']}"
                   f"{' (' + record['status_reason'] + ')' if record['status_reason'] else ''}"
                   f", {record['track']}, slot {record['slot']}")


@command.command(name="event")
@click.argument("woman_id", type=int)
@click.argument("event", type=click.Choice(EVENTS + ("still-birth", "infant-death",
                                                     "maternal-death"), case_sensitive=False),
                metavar="EVENT")
@click.option("--date", "day", callback=parse_date_option,
              help="Date of the event (required for a birth: the child's date of birth).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (events other than birth "
              "end her messages).")
@click.option("--json", "as_json", is_flag=True, help="Print her record as JSON.")
@_actor
@_reveal
@pass_settings
def event_cmd(settings, woman_id, event, day, yes, as_json, actor, reveal):
    """Record a life event: birth (she moves to the infant messages), miscarriage (or
    abortion), still_birth, infant_death, maternal_death (her messages stop at once).

    \b
    Example:
      ivr women event 42 birth --date 03/11/2026
      ivr women event 42 miscarriage --yes
    """
    from ivr.operators.session import actor_name, utc_now
    from scheduler.model import LifeEvent

    event = event.lower().replace("-", "_")
    if event == "birth" and day is None:
        raise click.UsageError("a birth needs --date (the child's date of birth)")
    if event != "birth":
        confirm_destructive(yes, f"record {event} for woman {woman_id}? Her messages stop")
    now, who = utc_now(), actor_name(actor)

    async def go():
        async with settings.open_schedule() as sched:
            if event == "birth":
                await sched.register_birth(woman_id, day, now, actor=who)
            else:
                await sched.life_event(woman_id, LifeEvent(event), now, actor=who)

    _change(go, settings, woman_id, as_json, reveal, f"recorded {event} for woman {woman_id}",
            actor, "women event")


def _status_command(name: str, method: str, summary: str, example: str, confirm: str | None):
    @command.command(name=name, help=f"{summary}\n\n\b\nExample:\n  {example}")
    @click.argument("woman_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print her record as JSON.")
    @_actor
    @_reveal
    @pass_settings
    def cmd(settings, woman_id, as_json, actor, reveal, **kw):
        from ivr.operators.session import actor_name, utc_now

        if confirm:
            confirm_destructive(kw.get("yes", False), confirm.format(woman_id))
        now, who = utc_now(), actor_name(actor)

        async def go():
            async with settings.open_schedule() as sched:
                await getattr(sched, method)(woman_id, now, actor=who)

        _change(go, settings, woman_id, as_json, reveal, f"{name}: woman {woman_id}", actor,
                f"women {name}")

    if confirm:
        cmd.params.append(click.Option(["--yes"], is_flag=True,
                                       help="Do not ask for confirmation."))
    return cmd


pause_cmd = _status_command("pause", "pause", "Pause her calls (until resumed). Her messages "
                            "keep falling due, so she resumes with the one for her week.",
                            "ivr women pause 42", None)
resume_cmd = _status_command("resume", "resume", "Resume the calls of a paused woman.",
                             "ivr women resume 42", None)
opt_out_cmd = _status_command("opt-out", "opt_out", "Opt her out at her request: no more calls, "
                              "pending callbacks cancelled. Final.",
                              "ivr women opt-out 42 --yes",
                              "opt out woman {}? This is final")


command.add_command(suggest_slots_command)
command.add_command(export_cmd)
command.add_command(erase_cmd)
