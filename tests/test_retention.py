"""The retention rule: [privacy] keep_call_records = "400d" parsed (bad values name the key);
old ended calls and handled missed calls deleted, never a live call nor an unhandled
missed call; once a day as a chore; `ivr db purge` on demand."""
import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from cli import main
from ivr.adapters.retention import DailyPurge, purge_call_records, purge_page
from ivr.adapters.store import NewAttempt, Store
from ivr.config import ConfigError, load_config
from scheduler.outcome import Outcome

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


def config_with(tmp_path, text):
    (tmp_path / "ivr.toml").write_text(text)
    return load_config(env={"IVR_HOME": str(tmp_path)})


def test_keep_call_records_is_read_in_days(tmp_path):
    assert load_config(env={"IVR_HOME": str(tmp_path)}).privacy.keep_call_records is None
    cfg = config_with(tmp_path, '[privacy]\nkeep_call_records = "400d"\n')
    assert cfg.privacy.keep_call_records == timedelta(days=400)


@pytest.mark.parametrize("value,why", [('"400"', "like \"400d\""), ('"13 months"', "like"),
                                       ("400", "like"), ('"-5d"', "like"),
                                       ('"7d"', "at least 30d")])
def test_bad_keep_call_records_names_the_key(tmp_path, value, why):
    with pytest.raises(ConfigError, match=r"\[privacy\] keep_call_records") as e:
        config_with(tmp_path, f"[privacy]\nkeep_call_records = {value}\n")
    assert why in str(e.value)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['keep_calls'\] in \[privacy\]"):
        config_with(tmp_path, '[privacy]\nkeep_calls = "400d"\n')


async def calls(db, now: datetime = NOW) -> dict[str, int]:
    """An old ended call (served a callback), an old live one, a recent one; an old handled
    missed call, an old unhandled one, a recent one."""
    store = await Store.open(db)
    ids = {}
    try:
        await store.execute(
            "INSERT INTO subscribers (id, phone, language, slot, programme, track, status, "
            "enrolled_at, updated_at) VALUES (1, '919000011', 'hi', '09-12', 'mmitra', "
            "'pregnancy', 'active', ?, ?)", (now.timestamp(), now.timestamp()))
        for name, at, outcome in (("old", now - timedelta(days=401), Outcome.ANSWERED),
                                  ("old_live", now - timedelta(days=401), None),
                                  ("recent", now - timedelta(days=399), Outcome.BUSY)):
            ids[name] = await store.create_attempt(
                NewAttempt("919000011", "hi", "mmitra-p001", kind="callback"), at.timestamp())
            if outcome:
                await store.attempt_ended(ids[name], at=at.timestamp() + 9, outcome=outcome)
        await store.execute("INSERT INTO callback_requests (subscriber_id, requested_at, status,"
                            " attempt_id) VALUES (1, ?, 'served', ?)",
                            ((now - timedelta(days=401)).timestamp(), ids["old"]))
        for _name, days, handled in (("m_old", 401, True), ("m_unhandled", 401, False),
                                    ("m_recent", 10, True)):
            at = (now - timedelta(days=days)).timestamp()
            await store.execute("INSERT INTO missed_calls (phone, received_at, handled_at) "
                                "VALUES (?, ?, ?)", ("919000011", at, at if handled else None))
    finally:
        await store.close()
    return ids


async def test_purge_deletes_old_ended_calls_only(database):
    ids = await asyncio.wait_for(calls(database.address), 10)
    store = await Store.open(database.address)
    try:
        done = await asyncio.wait_for(purge_call_records(
            store, NOW - timedelta(days=400), now=NOW), 10)
        left = {r[0] for r in await store.fetchall("SELECT id FROM attempts")}
        link = await store.fetchall("SELECT attempt_id FROM callback_requests")
        missed = await store.fetchall("SELECT handled_at IS NULL FROM missed_calls "
                                      "ORDER BY id")
        audit = await store.fetchall("SELECT action FROM audit")
    finally:
        await store.close()
    assert (done["calls"], done["missed_calls"]) == (1, 1)
    assert left == {ids["old_live"], ids["recent"]}
    assert [r[0] for r in link] == [None]                  # the callback row stays
    assert [r[0] for r in missed] == [1, 0]                 # unhandled and recent stay
    assert [r[0] for r in audit] == ["purge_call_records"]


async def test_purge_keeps_answers_follow_ups_and_the_call_centre_list_unlinked(database):
    """A two-way call's answers, the follow-up they opened and a call-centre list row point
    at the call: the purge deletes the old call and keeps those rows, without the link (it
    failed on their foreign keys before, every day, and purged nothing)."""
    ids = await asyncio.wait_for(calls(database.address), 10)
    old, at = ids["old"], (NOW - timedelta(days=401)).timestamp()
    store = await Store.open(database.address)
    try:
        await store.execute("INSERT INTO answers (id, subscriber_id, question, week, value, "
                            "status, attempt_id, answered_at) VALUES (1, 1, 'fever', "
                            "'2025-W43', 'yes', 'answered', ?, ?)", (old, at))
        await store.execute("INSERT INTO follow_ups (subscriber_id, rule, reason, due_on, "
                            "owner_role, question, answer_id, attempt_id, opened_at) VALUES "
                            "(1, 'fever', 'fever reported', '2025-10-25', 'health_worker', "
                            "'fever', 1, ?, ?)", (old, at))
        await store.execute("INSERT INTO call_centre_list (subscriber_id, attempt_id, reason, "
                            "added_at) VALUES (1, ?, 'opt_out_not_recorded', ?)", (old, at))
        done = await asyncio.wait_for(purge_call_records(
            store, NOW - timedelta(days=400), now=NOW), 10)
        left = {r[0] for r in await store.fetchall("SELECT id FROM attempts")}
        links = [(await store.fetchall(f"SELECT COUNT(*), MAX(attempt_id) FROM {t}"))[0]
                 for t in ("answers", "follow_ups", "call_centre_list", "callback_requests")]
        answer = (await store.fetchall("SELECT value FROM answers"))[0][0]
    finally:
        await store.close()
    assert done["calls"] == 1 and old not in left
    assert [(r[0], r[1]) for r in links] == [(1, None)] * 4     # every row kept, unlinked
    assert answer == "yes"


async def old_calls(store, calls: int, missed: int) -> None:
    """`calls` old ended calls and `missed` old handled missed calls (401 days old)."""
    at = (NOW - timedelta(days=401)).timestamp()
    for i in range(calls):
        a = await store.create_attempt(NewAttempt("919000011", "hi", "mmitra-p001"), at + i)
        await store.attempt_ended(a, at=at + i + 9, outcome=Outcome.NO_ANSWER)
    for i in range(missed):
        await store.execute("INSERT INTO missed_calls (phone, received_at, handled_at) "
                            "VALUES (?, ?, ?)", ("919000011", at + i, at + i))


async def test_purge_goes_a_page_a_transaction_until_none_is_left(database):
    """A page of at most `page` rows of each kind a transaction, the oldest first, each
    audited; the totals returned; the live call and the recent one stay."""
    ids = await asyncio.wait_for(calls(database.address), 10)
    store = await Store.open(database.address)
    try:
        await old_calls(store, calls=4, missed=2)           # 5 old calls, 3 old missed calls
        first = await purge_page(store, NOW - timedelta(days=400), now=NOW, page=2)
        oldest = {r[0] for r in await store.fetchall("SELECT id FROM attempts")}
        done = await asyncio.wait_for(purge_call_records(
            store, NOW - timedelta(days=400), now=NOW, page=2), 10)
        left = {r[0] for r in await store.fetchall("SELECT id FROM attempts")}
        missed = (await store.fetchall("SELECT COUNT(*) FROM missed_calls"))[0][0]
        audit = await store.fetchall("SELECT detail FROM audit ORDER BY id")
    finally:
        await store.close()
    assert (first["calls"], first["missed_calls"]) == (2, 2)
    assert ids["old"] not in oldest                         # the oldest call went first
    assert (done["calls"], done["missed_calls"]) == (3, 1)   # the rest, in two more pages
    assert left == {ids["old_live"], ids["recent"]}
    assert missed == 2                                      # the unhandled and the recent
    assert len(audit) == 3                                  # a row per page that deleted


async def test_the_daily_chore_purges_a_page_a_turn_then_rests_till_tomorrow(tmp_path):
    db = tmp_path / "ivr.db"
    await asyncio.wait_for(calls(db), 10)
    store = await Store.open(db)
    try:
        await old_calls(store, calls=2, missed=0)           # 3 old ended calls in all
        chore = DailyPurge(timedelta(days=400), page=2)
        pages = []
        for minute in range(4):
            pages.append(await asyncio.wait_for(
                chore.run_if_due(store, NOW + timedelta(minutes=minute)), 10))
            pages.append(chore.behind)
        count = (await store.fetchall("SELECT COUNT(*) FROM attempts"))[0][0]
    finally:
        await store.close()
    assert [p["calls"] if isinstance(p, dict) else p for p in pages] == [
        2, True, 1, False, None, False, None, False]       # two pages, then not today
    assert count == 2                                       # the live one and the recent one


async def test_daily_chore_runs_once_a_day_and_not_without_a_rule(tmp_path):
    db = tmp_path / "ivr.db"
    await asyncio.wait_for(calls(db), 10)
    store = await Store.open(db)
    try:
        assert await DailyPurge(None).run_if_due(store, NOW) is None
        chore = DailyPurge(timedelta(days=400))
        first = await asyncio.wait_for(chore.run_if_due(store, NOW), 10)
        assert first["calls"] == 1
        assert await chore.run_if_due(store, NOW + timedelta(hours=12)) is None
        later = await asyncio.wait_for(chore.run_if_due(store, NOW + timedelta(days=2)), 10)
        assert later == {"before": (NOW + timedelta(days=2) - timedelta(days=400)).isoformat(),
                         "calls": 1, "missed_calls": 0}          # the recent one has aged
    finally:
        await store.close()


def test_ivr_db_purge(database):
    env = database.env()
    none = CliRunner().invoke(main, ["db", "purge"], env=env)
    assert none.exit_code == 1 and "keep_call_records" in none.output
    asyncio.run(calls(database.address, datetime.now(timezone.utc)))
    database.home.mkdir(parents=True, exist_ok=True)
    (database.home / "ivr.toml").write_text('[privacy]\nkeep_call_records = "400d"\n')
    r = CliRunner().invoke(main, ["db", "purge", "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert '"calls": 1, "missed_calls": 1' in r.stdout
    assert database.sql("SELECT COUNT(*) FROM attempts") == [(2,)]  # the live, the recent stay
    bad = CliRunner().invoke(main, ["db", "purge"], env=env | {"IVR_CONFIG": str(
        database.home / "bad.toml")})
    assert bad.exit_code == 1
