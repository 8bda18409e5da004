"""`ivr followups close ID --outcome ask_to_come --come-on DATE`: the doctor's decision places
her notification call (a pending delivery, its notifications row, an audit row without the
date); a missing, malformed or past date is refused and writes nothing."""
from datetime import timedelta

from scheduler.outcome import Outcome
from scheduler.questions_model import FollowUpToOpen, OwnerRole
from tests.operators.conftest import TODAY
from tests.operators.test_women_cli import enrol
from tests.operators.test_workers_followups_cli import open_follow_ups, rows_of, with_schedule


def test_followup_close_ask_to_come_places_her_notification_call(cli):
    assert enrol(cli).exit_code == 0
    open_follow_ups(cli, (1, FollowUpToOpen("weight_loss", "weight lower", TODAY,
                                            OwnerRole.DOCTOR)))
    come = TODAY + timedelta(days=7)

    none = cli("followups", "close", "1", "--outcome", "ask_to_come")
    assert none.exit_code == 1 and "ask_to_come needs the date" in none.stderr
    past = cli("followups", "close", "1", "--outcome", "ask_to_come", "--come-on",
               (TODAY - timedelta(days=2)).isoformat())
    assert past.exit_code == 1 and "is in the past" in past.stderr
    assert cli("followups", "close", "1", "--outcome", "ask_to_come", "--come-on",
               "7/12/2026").exit_code == 2
    misplaced = cli("followups", "close", "1", "--outcome", "visited", "--come-on",
                    come.isoformat())
    assert misplaced.exit_code == 1 and "goes with the outcome ask_to_come" in misplaced.stderr
    assert rows_of(cli, "SELECT COUNT(*) FROM notifications") == [(0,)]
    assert rows_of(cli, "SELECT COUNT(*) FROM follow_ups WHERE closed_at IS NULL") == [(1,)]

    r = cli("followups", "close", "1", "--outcome", "ask_to_come", "--come-on",
            come.isoformat(), "--actor", "dr-rao")
    assert r.exit_code == 0, r.output
    assert f"she will be called and asked to come on {come.isoformat()}" in r.stderr
    key = f"notify:come:{come.isoformat()}"
    [(delivery_id, status, attempts)] = rows_of(
        cli, "SELECT id, status, attempts FROM deliveries WHERE message_key = ?", (key,))
    assert (status, attempts) == ("pending", 0)
    assert rows_of(cli, "SELECT delivery_id, follow_up_id, subscriber_id, come_on "
                   "FROM notifications") == [(delivery_id, 1, 1, come.isoformat())]
    assert rows_of(cli, "SELECT actor, detail FROM audit WHERE action = 'notification'") == [
        ("dr-rao", f'{{"delivery": {delivery_id}, "follow_up": 1}}')]
    listed = cli("followups", "list", "--all", "--json")
    assert '"outcome": "ask_to_come"' in listed.stdout


def test_followup_notification_erased_with_her(cli):
    assert enrol(cli).exit_code == 0
    open_follow_ups(cli, (1, FollowUpToOpen("weight_loss", "weight lower", TODAY,
                                            OwnerRole.DOCTOR)))
    come = (TODAY + timedelta(days=5)).isoformat()
    assert cli("followups", "close", "1", "--outcome", "ask_to_come", "--come-on",
               come).exit_code == 0

    async def call_her(sched):          # her weekly message may be called first
        [d] = [d for d in await sched.deliveries_of(1) if d.message_key.endswith(come)]
        at, made = d.next_attempt_at, []
        while d.id not in made:
            claimed = await sched.claim(at, "test", 10)
            assert len(claimed) == 1 and len(made) < 2       # one call at a time
            made.append(claimed[0].delivery_id)
            await sched.release(claimed[0].id, Outcome.ANSWERED, 1.0, at)
    with_schedule(cli, call_her)
    assert rows_of(cli, "SELECT COUNT(*) FROM attempts WHERE message_key = ?",
                   (f"notify:come:{come}",)) == [(1,)]
    assert cli("women", "erase", "1", "--yes").exit_code == 0
    assert rows_of(cli, "SELECT COUNT(*) FROM notifications") == [(0,)]
    assert rows_of(cli, "SELECT message_key FROM attempts WHERE message_key LIKE ?",
                   ("notify:%",)) == [("notify:come",)]
    for table in ("attempts", "deliveries", "audit", "follow_ups"):
        assert not any(come in str(v) for r in rows_of(cli, f"SELECT * FROM {table}")
                       for v in r), table
