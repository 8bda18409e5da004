"""`ivr workers`, `ivr followups`: workers and whom they follow, follow-ups listed and closed;
phones and names masked unless --reveal, every change audited, refusals exit 1 and write nothing."""
import asyncio
import csv
import io
import json
from datetime import timedelta

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.operators.session import utc_now
from scheduler.followups import iso_week
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole
from scheduler.programme import load_programme
from tests.operators.conftest import TODAY
from tests.operators.test_women_cli import enrol


def add(cli, name="Asha Devi", phone="+91 98123 45001", role="health_worker", *extra):
    return cli("workers", "add", "--name", name, "--phone", phone, "--role", role, *extra)


def rows_of(cli, sql, params=()):
    return [tuple(r) for r in cli.sql(sql, *params)]


def with_schedule(cli, use) -> None:
    """Run `use(schedule)` on the test's database (either store): what the call flow will do
    (record her answers, open a follow-up when a rule fires), through the store's own
    methods."""
    async def go():
        async with asyncio.timeout(30):
            store = await Store.open(cli.database.address, key_file=cli.key_file)
            try:
                await use(ScheduleStore(store, load_programme("mmitra")))
            finally:
                await store.close()
    asyncio.run(go())


def open_follow_ups(cli, *opened: tuple[int, FollowUpToOpen]) -> None:
    async def use(sched):
        for sub_id, f in opened:
            assert await sched.open_follow_up(sub_id, f, utc_now()) is not None
    with_schedule(cli, use)


def shown_by() -> str:
    from ivr.operators.session import actor_name
    return actor_name()


def test_workers_add_list_masked_and_audited(cli):
    r = add(cli, "Asha Devi", "+91 98123 45001", "health_worker", "--json", "--actor", "op-1")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"id": 1, "name": "A. D.", "phone": "*********001",
                                    "role": "health_worker"}
    r = add(cli, "Dr Rao", "098123 45002", "doctor", "--reveal", "--actor", "op-2")
    assert r.exit_code == 0 and r.stdout == "worker 2: Dr Rao, doctor, +919812345002\n"
    listed = cli("workers", "list")
    assert " A. D. " in listed.stdout and "*********002" in listed.stdout
    assert "9812345001" not in listed.stdout
    assert "Asha" not in listed.stdout and "Rao" not in listed.stdout
    shown = [json.loads(x) for x in
             cli("workers", "list", "--json", "--reveal").stdout.splitlines()]
    assert [(w["name"], w["phone"], w["role"], w["women"]) for w in shown] == [
        ("Asha Devi", "+919812345001", "health_worker", 0), ("Dr Rao", "+919812345002",
                                                            "doctor", 0)]
    assert rows_of(cli, "SELECT actor, action, detail FROM audit WHERE action = 'worker_add' "
                   "ORDER BY id")[0] == ("op-1", "worker_add",
                                         '{"role": "health_worker", "worker": 1}')
    assert [(a, json.loads(d)["command"]) for a, d in rows_of(
        cli, "SELECT actor, detail FROM audit WHERE action = 'reveal' ORDER BY id")] == [
        ("op-2", "workers add"), (shown_by(), "workers list")]


def test_workers_refusals_exit_1_and_write_nothing(cli):
    assert add(cli).exit_code == 0
    again = add(cli, "Someone Else", "9812345001", "agent")
    assert again.exit_code == 1 and "already a worker's (worker 1)" in again.stderr
    assert "9812345001" not in again.output
    bad_role = add(cli, "X", "9812345003", "nurse")
    assert bad_role.exit_code == 2 and "nurse" in bad_role.output
    assert enrol(cli).exit_code == 0
    unknown = cli("workers", "assign", "Nobody", "--woman", "1")
    assert unknown.exit_code == 1 and "no worker named 'Nobody'" in unknown.stderr
    no_woman = cli("workers", "assign", "1", "--woman", "99")
    assert no_woman.exit_code == 1 and "no woman with id 99" in no_woman.stderr
    not_hers = cli("workers", "unassign", "Asha Devi", "--woman", "1")
    assert not_hers.exit_code == 1 and "does not follow woman 1" in not_hers.stderr
    assert rows_of(cli, "SELECT COUNT(*) FROM workers") == [(1,)]
    assert rows_of(cli, "SELECT COUNT(*) FROM assignments") == [(0,)]
    assert rows_of(cli, "SELECT action FROM audit WHERE action != 'enrol'") == [
        ("worker_add",)]


def test_workers_assign_by_name_replaces_her_worker_and_shows_in_her_history(cli):
    assert enrol(cli).exit_code == 0
    assert add(cli, "Asha Devi", "9812345001").exit_code == 0
    assert add(cli, "Bina", "9812345002").exit_code == 0
    r = cli("workers", "assign", "asha devi", "--woman", "1", "--actor", "op-2")
    assert r.exit_code == 0 and "worker 1 (A. D., health_worker) follows woman 1" in r.stderr
    assert "Asha" not in r.output
    r = cli("workers", "assign", "2", "--woman", "1", "--reveal", "--actor", "op-3")
    assert r.exit_code == 0 and "worker 2 (Bina, health_worker) follows woman 1" in r.stderr
    assert rows_of(cli, "SELECT actor, subscriber_id, detail FROM audit "
                   "WHERE action = 'reveal'") == [
        ("op-3", 1, '{"command": "workers assign", "women": [1]}')]
    listed = {w["name"]: w["women"] for w in map(json.loads, cli(
        "workers", "list", "--json").stdout.splitlines())}
    assert listed == {"A. D.": 0, "B.": 1}
    history = json.loads(cli("women", "show", "1", "--json").stdout)["history"]
    assert [(h["action"], h["detail"]) for h in history if h["action"] == "assign"] == [
        ("assign", {"worker": 1, "role": "health_worker"}),
        ("assign", {"worker": 2, "role": "health_worker", "previous_worker": 1})]
    assert cli("workers", "unassign", "Bina", "--woman", "1").exit_code == 0
    assert rows_of(cli, "SELECT COUNT(*) FROM assignments WHERE until IS NULL") == [(0,)]


def test_followups_list_for_a_worker_close_once_json_csv(cli):
    assert enrol(cli).exit_code == 0
    assert enrol(cli, "+91 98765 43211").exit_code == 0
    assert add(cli, "Asha Devi", "9812345001").exit_code == 0
    assert add(cli, "Dr Rao", "9812345002", "doctor").exit_code == 0
    assert cli("workers", "assign", "Asha Devi", "--woman", "1").exit_code == 0
    late = TODAY - timedelta(days=1)
    open_follow_ups(cli,
                    (1, FollowUpToOpen("fever_yes", "fever reported", late,
                                       OwnerRole.HEALTH_WORKER)),
                    (2, FollowUpToOpen("fever_yes", "fever reported", TODAY,
                                       OwnerRole.HEALTH_WORKER)),
                    (1, FollowUpToOpen("weight_loss", "weight lower", TODAY, OwnerRole.DOCTOR)))
    mine = [json.loads(x) for x in cli("followups", "list", "--for", "Asha Devi",
                                       "--json").stdout.splitlines()]
    assert [(f["id"], f["woman"], f["owner"], f["state"], f["phone"]) for f in mine] == [
        (1, 1, "A. D.", "overdue", "*********210"), (2, 2, "pool", "open", "*********211")]
    shown = [json.loads(x) for x in cli("followups", "list", "--for", "1", "--json",
                                        "--reveal").stdout.splitlines()]
    assert [f["owner"] for f in shown] == ["Asha Devi", "pool"]
    doctor = cli("followups", "list", "--for", "Dr Rao")
    assert "weight_loss" in doctor.stdout and "fever_yes" not in doctor.stdout
    r = cli("followups", "close", "1", "--outcome", "visited", "--actor", "asha")
    assert r.exit_code == 0 and "closed follow-up 1 (woman 1, fever_yes): visited" in r.stderr
    again = cli("followups", "close", "1", "--outcome", "reached")
    assert again.exit_code == 1 and "follow-up 1 is closed already (visited, by asha)" in \
        again.stderr
    assert cli("followups", "close", "9", "--outcome", "reached").exit_code == 1
    assert cli("followups", "close", "2", "--outcome", "fixed").exit_code == 2
    assert [r["id"] for r in csv.DictReader(io.StringIO(
        cli("followups", "list", "--csv").stdout))] == ["2", "3"]
    every = list(csv.DictReader(io.StringIO(cli("followups", "list", "--all", "--csv").stdout)))
    assert [(r["id"], r["state"], r["outcome"], r["closed_by"]) for r in every] == [
        ("1", "closed", "visited", "asha"), ("2", "open", "", ""), ("3", "open", "", "")]
    revealed = csv.DictReader(io.StringIO(cli("followups", "list", "--csv", "--reveal").stdout))
    assert [r["phone"] for r in revealed] == ["'+919876543211", "'+919876543210"]  # as text
    assert [json.loads(d)["command"] for d, in rows_of(
        cli, "SELECT detail FROM audit WHERE action = 'reveal' ORDER BY id")] == [
        "followups list", "followups list"]
    assert rows_of(cli, "SELECT actor, subscriber_id, detail FROM audit "
                   "WHERE action = 'follow_up_close'") == [
        ("asha", 1, '{"follow_up": 1, "outcome": "visited", "rule": "fever_yes"}')]
    assert cli("followups", "list", "--for", "Nobody").exit_code == 1


def test_answers_and_followups_exported_then_erased_with_her(cli):
    assert enrol(cli).exit_code == 0
    assert add(cli, "Asha Devi", "9812345001").exit_code == 0
    assert cli("workers", "assign", "Asha Devi", "--woman", "1").exit_code == 0

    async def use(sched):
        [a] = await sched.record_answers(1, None, iso_week(TODAY), [
            Answer("weight", AnswerStatus.ANSWERED, 615, decimals=1)], utc_now())
        dropped = FollowUpToOpen("weight_loss", "weight lower than 63.0", TODAY,
                                 OwnerRole.HEALTH_WORKER, "weight")
        await sched.open_follow_up(1, dropped, utc_now(), answer_id=a.id)
    with_schedule(cli, use)
    data = json.loads(cli("women", "export", "1").stdout)
    assert [(a["question"], a["value"]) for a in data["answers"]] == [("weight", "61.5")]
    assert [(f["rule"], f["reason"]) for f in data["follow_ups"]] == [
        ("weight_loss", "weight lower than 63.0")]
    assert [(w["name"], w["role"], w["until_at"]) for w in data["workers"]] == [
        ("Asha Devi", "health_worker", None)]
    assert data["workers"][0]["since_at"].endswith("+05:30")
    history = [h["action"] for h in data["history"]]
    assert history[:4] == ["enrol", "assign", "answers", "follow_up_open"]
    shown = json.loads(cli("women", "show", "1", "--json").stdout)
    assert [(a["question"], a["value"], a["week"]) for a in shown["answers"]] == [
        ("weight", "61.5", iso_week(TODAY))]
    assert [(f["rule"], f["worker"], f["outcome"]) for f in shown["follow_ups"]] == [
        ("weight_loss", 1, None)]
    text = cli("women", "show", "1").stdout
    assert "answers (current, by week):" in text and "weight_loss" in text
    r = cli("women", "erase", "1", "--yes")
    assert r.exit_code == 0 and "1 answer(s)" in r.stderr
    assert rows_of(cli, "SELECT COUNT(*) FROM answers") == [(0,)]
    assert rows_of(cli, "SELECT rule, reason, answer_id FROM follow_ups") == [
        ("weight_loss", "", None)]
    assert not any("61.5" in str(v) or "63.0" in str(v) for (v,) in rows_of(
        cli, "SELECT detail FROM audit"))
