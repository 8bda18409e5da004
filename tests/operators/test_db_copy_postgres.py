"""`ivr db copy --to postgresql://...`: a SQLite install (women, deliveries, calls live and
ended, a callback being served, missed calls, the call-centre list, audit, an erased number)
moved into an empty PostgreSQL database: every row with its ids, the sequences past them,
the erasure key beside; the PostgreSQL store then answers as the SQLite one did. Refused,
with nothing written: a target with rows, a table it cannot copy, a running `ivr run`."""
from __future__ import annotations

import asyncio
from dataclasses import replace
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ivr.adapters import missed_calls, nodes, report_rollup
from ivr.adapters.inbound_calls import InboundCall, record_inbound_call
from ivr.adapters.db_copy import Table, order
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.missed_spool import SpooledCall
from ivr.nodes import NodeRow
from ivr.run_lock import RunLock
from scheduler.followups import iso_week
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import load_programme
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole
from tests.operators.conftest import LMP, TODAY, dmy

TIMEOUT = 60.0
PHONES = ["9876543210", "9876543211", "9876543212", "9876543213", "9876543214"]


def enrol(cli, phone: str) -> None:
    r = cli("enrol", "--phone", phone, "--lang", "hi", "--slot", "09-12", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--name", f"Woman {phone[-2:]}")
    assert r.exit_code == 0, r.output


async def _calls(db) -> None:
    """Calls as the service makes them: claimed, ended (answered, busy), one still live, a
    missed call whose callback is being placed, one on the call-centre list; the learned
    rule's counts per slot and weekday."""
    store = await Store.open(db)
    mmitra = load_programme("mmitra")      # learned per weekday: every counting table is filled
    sched = ScheduleStore(store, replace(mmitra, retry=replace(
        mmitra.retry, retry_slots=RetrySlots.LEARNED, retry_slots_by_weekday=True)))
    try:
        day = datetime.now(ZoneInfo("Asia/Kolkata")).date() + timedelta(days=2)
        at = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("Asia/Kolkata")) \
            .astimezone(timezone.utc)
        await sched.run_plans(at)
        claimed = sorted(await sched.claim(at, "node:1:1", 10), key=lambda a: a.subscriber_id)
        assert len(claimed) == len(PHONES)
        first, second = claimed[0], claimed[1]
        ended = at + timedelta(minutes=1)
        await sched.release(first.id, Outcome.ANSWERED, 0.9, ended)
        await sched.release(second.id, Outcome.BUSY, None, ended)
        await sched.release(claimed[3].id, Outcome.NO_ANSWER, None, ended)   # the third: live
        await sched.release(claimed[4].id, Outcome.REJECTED, None, ended)
        row = await missed_calls.insert(store, SpooledCall(
            PHONES[0], "02212345678", (at + timedelta(minutes=2)).timestamp(), "1700000000.1"))
        assert row > 0
        assert await sched.missed_call(first.subscriber_id, at + timedelta(minutes=2))
        callback = [a for a in await sched.claim(at + timedelta(minutes=3), "node:1:1", 10)
                    if a.subscriber_id == first.subscriber_id]
        assert callback                             # attempts <-> callback_requests, both set
        await store.add_to_call_centre_list(second.subscriber_id, second.id, "opt_out_not_recorded",
                                            (at + timedelta(minutes=4)).timestamp())
        # two-way calls: her worker, an answer, the follow-up it opened; a node's heartbeat
        [a] = await sched.record_answers(first.subscriber_id, first.id, iso_week(day), [
            Answer("fever", AnswerStatus.ANSWERED, 1)], ended)
        assert await sched.open_follow_up(first.subscriber_id, FollowUpToOpen(
            "fever_yes", "fever reported", day, OwnerRole.HEALTH_WORKER, "fever"), ended,
            answer_id=a.id)
        await nodes.write_heartbeat(store, NodeRow(
            "pune-1", "host-1", 4242, "pune-1@host-1:4242:1", at.timestamp(), at.timestamp(),
            5.0, live_calls={"sim": 1}))
        await record_inbound_call(store, InboundCall(
            ended, ended + timedelta(seconds=40), "18005550100", "*******210", "woman", "hangup",
            subscriber_id=first.subscriber_id, keys="1", played=("message",)))
        # the report's daily counts (ivr/adapters/report_rollup.py): a day before, as rolled
        day_before = report_rollup.day_of(at.timestamp(), 19800) - 1
        await store.execute("INSERT INTO report_days (utc_offset, day, rolled_at) VALUES "
                            "(19800, ?, ?)", (day_before, at.timestamp()))
        await store.execute("INSERT INTO report_women (subscriber_id, programme, language, "
                            "slot, partner) VALUES (?, 'mmitra', 'hi', '09-12', "
                            "'(none)')", (first.subscriber_id,))
        await store.execute(f"INSERT INTO report_calls ({', '.join(report_rollup.KEY)}, n, "
                            "heard) VALUES (19800, ?, 'mmitra', 'hi', '09-12', '(none)', "
                            "'scheduled', 1, 'answered', 2, 0, 1, 0.9)",
                            (day_before,))
        # the at-risk list's summary per woman (ivr/adapters/report_engagement.py)
        await store.execute("INSERT INTO report_engagement (low_share, subscriber_id, "
                            "low_run, since, last_answered) VALUES (0.25, ?, 1, NULL, ?)",
                            (first.subscriber_id, ended.timestamp()))
        await store.execute("INSERT INTO report_engagement_upto (low_share, upto, folded_at) "
                            "VALUES (0.25, ?, ?)", (at.timestamp(), at.timestamp()))
    finally:
        await store.close()


@pytest.fixture
def database(tmp_path):
    """The install copied is SQLite's (not the operators' tests' two runs)."""
    from tests.databases import Database
    home = tmp_path / "var"
    return Database(home, home / "ivr.db")


@pytest.fixture
def install(cli):
    """A SQLite install of five women, their calls, and the fifth erased after her opt-out;
    a worker following the first, her answer and the follow-up it opened (closed: she is
    asked to come, a notification call), her call to the answered line, the call centre's
    outreach call to her; a node's row."""
    for phone in PHONES:
        enrol(cli, phone)
    assert cli("workers", "add", "--name", "Asha", "--phone", "9812345001", "--role",
               "health_worker").exit_code == 0
    assert cli("workers", "assign", "Asha", "--woman", "1").exit_code == 0
    assert cli("outreach", "done", "1", "--outcome", "reached", "--worker", "Asha").exit_code == 0
    asyncio.run(asyncio.wait_for(_calls(cli.db), TIMEOUT))
    asked = cli("followups", "close", "1", "--outcome", "ask_to_come", "--come-on",
                (TODAY + timedelta(days=3)).isoformat())
    assert asked.exit_code == 0, asked.output              # her notification call is owed
    assert cli("women", "opt-out", "5", "--yes").exit_code == 0
    erased = cli("women", "erase", "5", "--yes")
    assert erased.exit_code == 0, erased.output
    return cli


def every_row(db_rows, tables) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db_rows(f"SELECT * FROM {t} ORDER BY 1")] for t in tables}


def tables_of(sqlite_db) -> list[str]:
    con = sqlite3.connect(sqlite_db)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite%' ORDER BY name")]
    con.close()
    return [n for n in names if n != "schema_migrations"]


def pg_rows(dsn: str):
    def rows(sql: str) -> list[tuple]:
        with psycopg.connect(dsn) as conn:
            return conn.execute(sql).fetchall()
    return rows


def sqlite_rows(db):
    def rows(sql: str) -> list[tuple]:
        con = sqlite3.connect(db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    return rows


def report(cli) -> dict:
    done = cli("report", "--json")
    assert done.exit_code == 0, done.output
    return {k: v for k, v in json.loads(done.stdout).items() if k != "generated_at"}


def women_shown(cli) -> dict:
    """What the configured database answers of each woman (`ivr women show --json`)."""
    out = {}
    for woman in range(1, len(PHONES) + 1):
        shown = cli("women", "show", str(woman), "--json")
        assert shown.exit_code == 0, shown.output
        out[woman] = json.loads(shown.stdout)
    return out


async def _store_answers(address, key_file=None) -> dict:
    store = await Store.open(address, read_only=True, key_file=key_file)
    sched = ScheduleStore(store, load_programme("mmitra"))
    try:
        out: dict = {"live": await sched.live_attempts()}
        for woman in range(1, len(PHONES) + 1):
            out[woman] = (await sched.subscriber(woman), await sched.deliveries_of(woman),
                          await sched.callbacks_of(woman))
        return out
    finally:
        await store.close()


def store_answers(address) -> dict:
    return asyncio.run(asyncio.wait_for(_store_answers(address), TIMEOUT))


def schema_of(dsn: str) -> list[tuple]:
    """Its indexes and constraints, as PostgreSQL writes them."""
    return sorted(pg_rows(dsn)(
        "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace"))


def migrated(pg_cluster, name: str) -> str:
    """A new database of the cluster, migrated by the store (as the cluster's superuser)."""
    dsn = pg_cluster.create_database(name)

    async def go():
        await (await Store.open(dsn)).close()
    asyncio.run(asyncio.wait_for(go(), TIMEOUT))
    return dsn


def test_copy_moves_every_row_and_the_store_answers_the_same_postgres(install, pg_dsn,
                                                                      pg_cluster, monkeypatch):
    cli = install
    tables = tables_of(cli.db)
    assert {"subscribers", "deliveries", "attempts", "callback_requests", "missed_calls",
            "audit", "call_centre_list", "erased_numbers"} <= set(tables)
    before = every_row(sqlite_rows(cli.db), tables)
    assert all(before[t] for t in tables), [t for t in tables if not before[t]]
    sqlite_store, sqlite_women = store_answers(cli.db), women_shown(cli)
    assert len(sqlite_store["live"]) == 2                  # a first call and a callback

    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 0, r.output
    for t in tables:
        assert f"{t} " in r.stderr and f" {len(before[t])} rows in SQLite" in r.stderr
    assert "copied the erasure key" in r.stderr
    key = cli.home / "erasure.key"
    assert key.read_bytes() == (cli.home / "ivr.db.key").read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600

    assert every_row(pg_rows(pg_dsn), tables) == before    # every row, every id, every value
    # the indexes and foreign keys dropped for the copy are all back, as a migration makes them
    assert schema_of(pg_dsn) == schema_of(migrated(pg_cluster, "ivr_fresh_schema"))
    assert every_row(sqlite_rows(cli.db), tables) == before            # the source untouched
    assert store_answers(pg_dsn) == sqlite_store
    monkeypatch.setenv("IVR_DATABASE", pg_dsn)
    assert women_shown(cli) == sqlite_women
    # the sequences are past the copied ids; the erased opt-out is still honoured
    enrol(cli, "9876543299")
    assert pg_rows(pg_dsn)("SELECT MAX(id) FROM subscribers")[0][0] == len(PHONES) + 1
    again = cli("enrol", "--phone", PHONES[4], "--lang", "hi", "--lmp", dmy(LMP),
                "--consent-date", dmy(TODAY))
    assert again.exit_code == 1 and "record was erased" in again.stderr


def test_copy_refuses_a_database_with_rows_and_writes_nothing_postgres(install, pg_dsn):
    cli = install
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO notes VALUES (1)")
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1
    assert "not empty (rows in notes)" in r.stderr and "Traceback" not in r.output
    tables = {t for (t,) in pg_rows(pg_dsn)(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert tables == {"notes"}
    assert not (cli.home / "erasure.key").exists()


def test_copy_refuses_a_second_copy_into_the_same_database_postgres(install, pg_dsn):
    cli = install
    assert cli("db", "copy", "--to", pg_dsn).exit_code == 0
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1 and "not empty (rows in" in r.stderr and "subscribers" in r.stderr


def test_copy_refuses_a_table_it_does_not_know_and_writes_nothing_postgres(install, pg_dsn):
    cli = install
    con = sqlite3.connect(cli.db)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    con.execute("INSERT INTO notes (text) VALUES ('a note')")
    con.commit()
    con.close()
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1
    assert "table notes: the PostgreSQL schema has no such table" in r.stderr
    assert pg_rows(pg_dsn)("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'") == [(0,)]   # not even the schema


def test_copy_refuses_while_ivr_run_holds_the_database_postgres(install, pg_dsn):
    cli = install
    with RunLock(cli.db):
        r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1 and "stop it first" in r.stderr
    assert pg_rows(pg_dsn)("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'") == [(0,)]


def test_copy_refuses_a_key_file_holding_another_key_postgres(install, pg_dsn):
    cli = install
    (cli.home / "erasure.key").write_bytes(b"k" * 32)
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1 and "holds another erasure key" in r.stderr
    assert pg_rows(pg_dsn)("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'") == [(0,)]


def test_copy_needs_a_postgresql_url_and_a_sqlite_source_postgres(cli, pg_dsn, monkeypatch):
    r = cli("db", "copy", "--to", "/tmp/other.db")
    assert r.exit_code == 2 and "postgresql://" in r.output
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1 and "no SQLite database at" in r.stderr
    monkeypatch.setenv("IVR_DATABASE", pg_dsn)
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1 and "PostgreSQL already" in r.stderr


def _table(name: str, refs=(), nullable=()) -> Table:
    return Table(name, ("id", *(c for c, _ in refs)), "id", frozenset(nullable), tuple(refs))


def test_order_puts_parents_first_and_cuts_a_cycle_at_a_nullable_column_postgres():
    plan = order([
        _table("attempts", [("subscriber_id", "subscribers"), ("callback_id", "callbacks")],
               nullable={"subscriber_id", "callback_id"}),
        _table("callbacks", [("subscriber_id", "subscribers"), ("attempt_id", "attempts")],
               nullable={"attempt_id"}),
        _table("subscribers"),
        _table("missed", [("callback_id", "callbacks")], nullable={"callback_id"})])
    names = [t.name for t in plan.tables]
    assert names == ["subscribers", "attempts", "callbacks", "missed"]
    assert plan.deferred == {"attempts": ("callback_id",)}


def test_order_refuses_a_cycle_without_a_nullable_column_postgres():
    from ivr.adapters.db_copy import CopyError
    with pytest.raises(CopyError, match="cannot be NULL"):
        order([_table("a", [("b_id", "b")]), _table("b", [("a_id", "a")])])


def test_report_is_the_same_after_the_copy_postgres(install, pg_dsn, monkeypatch):
    cli = install
    before = report(cli)
    assert cli("db", "copy", "--to", pg_dsn).exit_code == 0
    monkeypatch.setenv("IVR_DATABASE", pg_dsn)
    assert report(cli) == before


def test_copy_as_a_role_with_a_password_never_shows_it_postgres(install, pg_cluster):
    """A plain role (no superuser) owning its database, a password in the URL."""
    cli = install
    secret = "Copy-s3cret"
    user = "ivr_copier"
    pg_cluster.password_role(user, secret)
    pg_cluster.sql(f"CREATE DATABASE ivr_copied OWNER {user}")
    dsn = f"postgresql://{user}:{secret}@/ivr_copied?host={pg_cluster.socket_dir}"
    r = cli("db", "copy", "--to", dsn)
    assert r.exit_code == 0, r.output
    assert secret not in r.output and f"postgresql://{user}:***@/ivr_copied" in r.stderr
    assert pg_rows(dsn)("SELECT COUNT(*) FROM subscribers") == [(len(PHONES),)]


def test_copy_by_a_role_that_does_not_own_the_tables_keeps_the_checks_postgres(install,
                                                                               pg_cluster):
    """The schema made beforehand by another role: the copy runs with every check on (parents
    first, the attempts <-> callback_requests cycle cut and set afterwards)."""
    cli = install
    user, secret = "ivr_not_owner", "Not-0wner"
    pg_cluster.password_role(user, secret)
    owner_dsn = migrated(pg_cluster, "ivr_not_owned")
    pg_cluster.sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {user}; "
                   f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {user}; "
                   f"GRANT CREATE ON SCHEMA public TO {user}", "ivr_not_owned")
    schema = schema_of(owner_dsn)
    r = cli("db", "copy", "--to", f"postgresql://{user}:{secret}@/ivr_not_owned"
                                  f"?host={pg_cluster.socket_dir}")
    assert r.exit_code == 0, r.output
    tables = tables_of(cli.db)
    assert every_row(pg_rows(owner_dsn), tables) == every_row(sqlite_rows(cli.db), tables)
    assert schema_of(owner_dsn) == schema


def test_a_copy_that_fails_midway_writes_nothing_postgres(install, pg_dsn):
    """A row PostgreSQL refuses (a delivery of no woman: SQLite without foreign_keys on let
    it in): one line, exit 1, not a row nor a table left."""
    cli = install
    con = sqlite3.connect(cli.db)
    con.execute("INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status) "
                "SELECT 999, message_key, slot, due_at, status FROM deliveries LIMIT 1")
    con.commit()
    con.close()
    r = cli("db", "copy", "--to", pg_dsn)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "nothing was written" in lines[0], r.stderr
    assert "foreign key" in lines[0]
    assert pg_rows(pg_dsn)("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'") == [(0,)]
    assert not (cli.home / "erasure.key").exists()
