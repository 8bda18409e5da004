"""`ivr enrol`: enrol one woman, checked as an import row is."""
from __future__ import annotations

import click

from ivr.commands.common import emit_json, fail, pass_settings, say


def parse_date_option(ctx, param, value):
    from ivr.operators.normalise import parse_date
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def free_text_option(ctx, param, value):
    """--actor and other free text: the check of names (no control or bidi characters)."""
    from ivr.operators.normalise import short_text
    try:
        return short_text(value, param.name)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command(name="enrol")
@click.option("--phone", required=True, help="Her own mobile number (+91 98765 43210, "
              "098765 43210, 9876543210: without +country it is read in the programme's region).")
@click.option("--language", "--lang", "language", required=True,
              help="Language code of the programme, e.g. hi, mr.")
@click.option("--slot", default=None, help="Time slot name, e.g. 09-12 (default: the programme's).")
@click.option("--lmp", callback=parse_date_option, help="Last menstrual period.")
@click.option("--edd", callback=parse_date_option, help="Expected delivery date.")
@click.option("--child-dob", callback=parse_date_option,
              help="Child's date of birth (she starts on the infant messages).")
@click.option("--consent-date", callback=parse_date_option, required=True,
              help="The day she agreed to the calls.")
@click.option("--name", default=None, help="Her name (optional, any script).")
@click.option("--partner", default=None, help="Enrolment partner: hospital or NGO.")
@click.option("--health-worker", default=None, help="Health worker who enrolled her.")
@click.option("--timezone", default=None, help="IANA time zone (default: the programme's).")
@click.option("--unchecked-number", is_flag=True,
              help="Keep the digits as given, without checking the number is valid "
              "(the sandbox's simulated phones).")
@click.option("--re-enrol", is_flag=True, help="She opted out before and asks to come back: "
              "enrol her number again (--consent-date: her new consent, on or after the "
              "opt-out). Audited.")
@click.option("--actor", default=None, callback=free_text_option,
              help="Who enrols her, for the record "
              "(default: $IVR_ACTOR or cli:<login>).")
@click.option("--programme", "programme_name", default=None,
              help="Her programme, one the installation runs ([ivr] programmes): needed "
              "when it runs several; default: its only one.")
@click.option("--json", "as_json", is_flag=True, help="Print her record as one JSON object.")
@click.option("--reveal", is_flag=True, help="Show her phone number, name and health "
              "worker's name in clear (audited).")
@pass_settings
def command(settings, phone, language, slot, lmp, edd, child_dob, consent_date, name, partner,
            health_worker, timezone, unchecked_number, re_enrol, programme_name, actor, as_json,
            reveal):
    """Enrol one woman: she gets the message for her week from her next slot on.

    Dates may be written 2026-03-15, 15/03/2026, 15-03-2026, 15.03.2026 or 15 Mar 2026
    (numbers are read day first). Give the LMP or the EDD (or both), or the child's date of
    birth. Exit 1 when she cannot be enrolled (already enrolled, LMP in the future...).
    Opt-out is final: a number that opted out (even one whose record was erased) is enrolled
    again only with --re-enrol and the date of her new consent.

    \b
    Example:
      ivr enrol --phone "+91 98765 43210" --lang hi --slot 18-21 --lmp 15/03/2026 \\
                --consent-date 02/05/2026 --name "सीमा" --partner "KEM Hospital"
    """
    from ivr.operators.imports import checked
    from ivr.operators.normalise import short_text
    from ivr.operators.records import show_woman
    from ivr.operators.session import actor_name, audit_reveal, run, utc_now
    from ivr.phone import Phone, PhoneError
    from scheduler.model import Subscriber
    from scheduler.slots import zone

    config, programme = settings.config, settings.run_programme(programme_name)
    now = utc_now()
    try:
        digits = (Phone.unchecked(phone) if unchecked_number else
                  Phone.parse(phone, programme.region,
                              foreign=programme.allow_foreign_numbers)).digits
    except PhoneError as e:
        raise click.BadParameter(str(e), param_hint="'--phone'") from None
    tz = timezone or programme.timezone
    try:
        zone(tz)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--timezone'") from None
    sub = Subscriber(id=0, phone=digits, language=language.strip().lower(),
                     slot=slot or programme.default_slot, timezone=tz, lmp=lmp, edd=edd,
                     child_dob=child_dob)
    try:
        enrolment = checked(programme, sub, now, name=short_text(name, "name"),
                            partner=short_text(partner, "partner"),
                            health_worker=short_text(health_worker, "health_worker"),
                            consent_date=consent_date)
    except ValueError as e:
        fail(str(e))

    async def go():
        async with settings.open_schedule() as sched:
            e = enrolment
            done = await sched.of(programme.name).enrol(
                e.subscriber, now, actor=actor_name(actor), name=e.name, partner=e.partner,
                health_worker=e.health_worker, consent_date=e.consent_date, re_enrol=re_enrol)
            return await show_woman(sched.store, done.id, reveal=reveal, iso=as_json)

    record = run(go())
    if reveal:
        audit_reveal(config, "enrol", [record["id"]], actor)
    if as_json:
        emit_json(record)
        return
    nxt = record["deliveries"][0] if record["deliveries"] else None
    click.echo(f"woman {record['id']}: {record['phone']} {record['language']} slot "
               f"{record['slot']} {record['track']}"
               + (f"; first message {nxt['message']} from {nxt['next_attempt']}"
                  if nxt and nxt["next_attempt"] else ""))
    say(f"enrolled woman {record['id']}")
