"""`ivr schedule preview` under retry_slots = "learned": a retry shows in the slot the rule
chose when her last call ended (the time `ivr run` will place it), with her chance there and
in her own slot (both stores)."""
import asyncio
import json
import os
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.config import load_config
from ivr.operators.session import open_schedule
from scheduler.outcome import Outcome
from scheduler.programme import programme_path
from tests.operators.conftest import LMP, TODAY, dmy

IST = ZoneInfo("Asia/Kolkata")
TOMORROW = TODAY + timedelta(days=1)


def learned_programme(tmp_path, by_weekday=False):
    text = programme_path("mmitra").read_text(encoding="utf-8")
    extra = 'retry_slots = "learned"\n' + \
        ("retry_slots_by_weekday = true\n" if by_weekday else "")
    path = tmp_path / "learned.toml"
    path.write_text(text.replace("[retry]\n", "[retry]\n" + extra, 1), encoding="utf-8")
    return path


async def unanswered_first_call(at: datetime) -> None:
    """Her first call at `at`, not answered: claimed and released as `ivr run` does."""
    async with open_schedule(load_config(env=os.environ)) as sched:
        await sched.run_plans(at)
        [a] = await sched.claim(at, "test", 10)
        assert a.subscriber_id == 1 and a.number == 1
        await sched.release(a.id, Outcome.NO_ANSWER, None, at + timedelta(seconds=40))


def setup(cli, tmp_path, monkeypatch, by_weekday=False):
    monkeypatch.setenv("IVR_PROGRAMME", str(learned_programme(tmp_path, by_weekday)))
    r = cli("enrol", "--phone", "9876543210", "--lang", "hi", "--slot", "09-12",
            "--lmp", dmy(LMP), "--consent-date", dmy(TODAY))
    assert r.exit_code == 0, r.output
    # her history: never answers in her morning slot, answers in the evening
    cli.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered, own_calls, "
            "own_answered) VALUES (1, '09-12', 9, 0, 9, 0), (1, '18-21', 6, 5, 0, 0)")
    at = datetime.combine(TOMORROW, time(9), IST)
    asyncio.run(unanswered_first_call(at))


def preview(cli):
    r = cli("schedule", "preview", "--date", dmy(TOMORROW), "--json")
    assert r.exit_code == 0, r.output
    return [json.loads(x) for x in r.stdout.splitlines()]


def test_preview_shows_a_learned_retry_in_the_slot_the_rule_chose(cli, tmp_path, monkeypatch):
    setup(cli, tmp_path, monkeypatch)
    [(due,)] = cli.sql("SELECT next_attempt_at FROM deliveries WHERE status = 'pending'")
    calls = preview(cli)
    assert [(c["woman"], c["slot"], c["attempt"], c["kind"]) for c in calls] == \
        [(1, "18-21", 2, "scheduled")]
    # where `ivr run` will place it: the time the rule wrote on her delivery
    assert calls[0]["at"].endswith("T18:00:00+05:30")
    assert datetime.fromisoformat(calls[0]["at"]).timestamp() == due
    why = calls[0]["why"]
    assert why.startswith("retry after no_answer at ")
    assert re.search(r"; learned slot 18-21: her chance 0\.\d\d \+- 0\.\d\d \(5 of 6 calls\), "
                     r"in her own slot 09-12 0\.\d\d \+- 0\.\d\d \(0 of 10 calls\)$", why), why
    there, mine = (float(x) for x in re.findall(r"(0\.\d\d) \+-", why))
    assert there > 0.6 > 0.1 > mine
    text = cli("schedule", "preview", "--date", dmy(TOMORROW))
    assert "slot 18-21 (18:00-21:00): 1 call(s)" in text.stdout
    assert "slot 09-12 (09:00-12:00): 0 call(s)" in text.stdout


def test_preview_of_a_learned_retry_per_weekday_names_the_day(cli, tmp_path, monkeypatch):
    setup(cli, tmp_path, monkeypatch, by_weekday=True)
    [call] = preview(cli)
    assert (call["slot"], call["attempt"]) == ("18-21", 2)
    day = f"{TOMORROW:%A}"
    # her weekday cells start from her per-slot chance: tomorrow's 09-12 cell has her one miss
    assert re.search(rf"; learned slot 18-21: her chance on {day}s 0\.\d\d \+- 0\.\d\d "
                     rf"\(0 of 0 calls\), in her own slot 09-12 0\.\d\d \+- 0\.\d\d "
                     rf"\(0 of 1 calls\)$", call["why"]), call["why"]
