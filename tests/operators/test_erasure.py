"""Her rights over her data: `ivr women export` (everything held about her, audited),
`ivr women erase` (her personal data gone from every table, report counts unchanged, an
erased opt-out still honoured through a keyed hash), and opt-out is final for `ivr enrol`."""
import json
import time
from datetime import timedelta

from tests.operators.conftest import LMP, TODAY, dmy

PHONE = "9876543210"
NAME = "Seematai Kulkarni"


def enrol(cli, phone=PHONE, name=NAME, lmp=LMP, partner="Sassoon Hospital Pune",
          worker="Asha Pawar Kadam", consent=TODAY - timedelta(days=3)):
    r = cli("enrol", "--phone", phone, "--lang", "hi", "--lmp", dmy(lmp),
            "--consent-date", dmy(consent), "--name", name,
            "--partner", partner, "--health-worker", worker)
    assert r.exit_code == 0, r.output
    return json.loads(cli("women", "show", str(woman_count(cli)), "--json").stdout)["id"]


def woman_count(cli) -> int:
    return cli.sql("SELECT MAX(id) FROM subscribers")[0][0]


def calls_for(cli, woman: int, phone: str) -> None:
    """Her calls and missed calls as the service writes them (an answered call she replayed,
    a busy one, a missed call served by a callback)."""
    now = time.time() - 3600
    [delivery] = cli.sql("SELECT id, message_key FROM deliveries WHERE subscriber_id = ?", woman)
    for n, (outcome, heard, plays, keys) in enumerate((("busy", None, None, None),
                                                       ("answered", 0.8, 2, "1"))):
        cli.sql(
            "INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, language, "
            "message_key, trunk, created_at, started_at, answered_at, ended_at, outcome, "
            "heard_share, plays, keys, channel, uniqueid) VALUES "
            "(?, ?, ?, 'scheduled', ?, 'hi', ?, 'sim', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            delivery[0], woman, n + 1, phone, delivery[1], now + n, now + n,
            now + n + 5 if heard else None, now + n + 60, outcome, heard, plays, keys,
            f"Local/{phone}@sim-phones-0000000{n};1", f"17000.{n}")
    [(cb,)] = cli.sql("INSERT INTO callback_requests (subscriber_id, requested_at, status, "
                      "served_at) VALUES (?, ?, 'served', ?) RETURNING id", woman, now, now + 30)
    cli.sql("INSERT INTO missed_calls (phone, did, received_at, subscriber_id, callback_id,"
            " uniqueid, handled_at) VALUES (?, '02212345678', ?, ?, ?, ?, ?)",
            phone, now, woman, cb, f"18000.{woman}", now)


def report(cli) -> dict:
    r = cli("report", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    out.pop("generated_at")
    return out


def raw_bytes(cli) -> bytes:
    """The SQLite database file and its WAL, as on disk."""
    return b"".join(p.read_bytes() for p in cli.db.parent.glob("ivr.db*") if p.suffix != ".key")


def test_export_prints_everything_about_her_and_is_audited(cli):
    her = enrol(cli)
    other = enrol(cli, "9876543211", "Rekha")
    calls_for(cli, her, "91" + PHONE)
    calls_for(cli, other, "919876543211")
    cli.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered) "
            "VALUES (?, '09-12', 2, 1)", her)
    cli.sql("INSERT INTO slot_weekday_answers (subscriber_id, slot, weekday, calls, answered) "
            "VALUES (?, '09-12', 3, 2, 1)", her)
    r = cli("women", "export", str(her), "--actor", "op-7")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["woman"]["phone"] == "+91" + PHONE and data["woman"]["name"] == NAME
    assert data["woman"]["lmp"] == LMP.isoformat()
    assert data["woman"]["enrolled_at"].endswith("+05:30")              # RFC 3339, offset
    assert [c["outcome"] for c in data["calls"]] == ["busy", "answered"]
    assert {c["phone"] for c in data["calls"]} == {"+91" + PHONE}
    assert len(data["missed_calls"]) == 1 and len(data["callbacks"]) == 1
    assert [h["action"] for h in data["history"]] == ["enrol"]
    assert data["deliveries"][0]["subscriber_id"] == her
    assert data["slot_answers"] == [{"slot": "09-12", "calls": 2, "answered": 1}]
    assert data["slot_weekday_answers"] == [{"slot": "09-12", "weekday": 3, "calls": 2,
                                             "answered": 1}]
    assert "9876543211" not in r.stdout and "Rekha" not in r.stdout
    assert cli.sql("SELECT actor, subscriber_id FROM audit WHERE action = 'export'"
                   ) == [("op-7", her)]
    assert cli("women", "export", "99").exit_code == 1


def test_erase_removes_her_from_every_table_and_keeps_the_report(cli):
    her = enrol(cli)
    other = enrol(cli, "9876543211", "Rekha", LMP - timedelta(days=9), "KEM", "Sunita", TODAY)
    calls_for(cli, her, "91" + PHONE)
    calls_for(cli, other, "919876543211")
    for woman in (her, other):
        cli.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered) "
                "VALUES (?, '09-12', 2, 1)", woman)
        cli.sql("INSERT INTO slot_weekday_answers (subscriber_id, slot, weekday, calls, "
                "answered) VALUES (?, '09-12', 3, 2, 1)", woman)
    assert cli("women", "opt-out", str(her), "--yes").exit_code == 0
    before = report(cli)
    # the old bytes on disk: SQLite's file (PostgreSQL keeps old row versions until VACUUM:
    # ivr/adapters/erasure.py)
    on_disk = cli.database.dialect == "sqlite"
    if on_disk:
        assert PHONE.encode() in raw_bytes(cli) and NAME.encode() in raw_bytes(cli)
    assert before["funnel"][0]["enrolled"] == 2 and before["funnel"][0]["first_answer"] == 2
    assert cli("women", "erase", str(her)).exit_code == 2             # not confirmed
    r = cli("women", "erase", str(her), "--yes")
    assert r.exit_code == 0, r.output
    assert "keyed hash" in r.stderr
    assert report(cli) == before
    texts = cli.database.texts()
    secrets = (PHONE, NAME, "Seematai", LMP.isoformat(), (LMP + timedelta(days=280)).isoformat(),
               "Sassoon", "Asha Pawar", dmy(TODAY - timedelta(days=3)),
               (TODAY - timedelta(days=3)).isoformat())
    found = [(t, c, v) for t, c, v in texts for s in secrets if s in v]
    assert found == []
    assert any("9876543211" in v for _, _, v in texts)                  # the other woman stays
    if on_disk:
        raw = raw_bytes(cli)
        assert PHONE.encode() not in raw and NAME.encode() not in raw   # no old bytes left
    key = cli.key_file
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    assert cli.sql("SELECT COUNT(*) FROM erased_numbers") == [(1,)]
    assert cli.sql("SELECT subscriber_id FROM slot_answers") == [(other,)]  # her pattern gone
    assert cli.sql("SELECT subscriber_id FROM slot_weekday_answers") == [(other,)]
    assert cli.sql("SELECT action FROM audit WHERE subscriber_id = ? ORDER BY id",
                   her)[-1] == ("erase",)
    # her opt-out is still honoured: enrol refuses, import skips, --re-enrol takes her back
    again = cli("enrol", "--phone", PHONE, "--lang", "hi", "--lmp", dmy(LMP),
                "--consent-date", dmy(TODAY))
    assert again.exit_code == 1 and "opt-out is final" in again.stderr
    assert "record was erased" in again.stderr


def test_erased_opt_out_is_skipped_by_import_and_taken_back_by_re_enrol(cli, tmp_path):
    her = enrol(cli)
    assert cli("women", "erase", str(her), "--yes").exit_code == 0   # active: opted out first
    shown = json.loads(cli("women", "show", str(her), "--json").stdout)
    assert (shown["status"], shown["status_reason"], shown["name"]) == \
        ("opted_out", "erasure", None)
    f = tmp_path / "w.csv"
    f.write_text(f"phone,language,lmp,consent_date\n{PHONE},hi,{dmy(LMP)},{dmy(TODAY)}\n")
    r = cli("import", str(f))
    assert r.exit_code == 0 and "record was erased" in r.stderr and "enrolled 0" in r.stdout
    back = cli("enrol", "--phone", PHONE, "--lang", "hi", "--lmp", dmy(LMP),
               "--consent-date", dmy(TODAY), "--re-enrol")
    assert back.exit_code == 0, back.output
    assert cli.sql("SELECT COUNT(*) FROM erased_numbers") == [(0,)]
    detail = json.loads(cli.sql("SELECT detail FROM audit WHERE action = 'enrol' "
                                "ORDER BY id DESC")[0][0])
    assert detail["re_enrol"] is True and "erased" in detail["opted_out"]


def test_a_lost_erasure_key_is_an_error_not_a_silent_re_enrolment(cli):
    her = enrol(cli)
    assert cli("women", "erase", str(her), "--yes").exit_code == 0
    cli.key_file.unlink()
    r = cli("enrol", "--phone", PHONE, "--lang", "hi", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY))
    assert r.exit_code == 1 and "erasure key" in r.stderr and "missing" in r.stderr


def test_opt_out_is_final_for_enrol_unless_re_enrol_with_a_new_consent(cli):
    her = enrol(cli)
    assert cli("women", "opt-out", str(her), "--yes").exit_code == 0
    base = ("enrol", "--phone", PHONE, "--lang", "hi", "--lmp", dmy(LMP))
    r = cli(*base, "--consent-date", dmy(TODAY))
    assert r.exit_code == 1 and "opt-out is final" in r.stderr and "--re-enrol" in r.stderr
    old = cli(*base, "--consent-date", dmy(TODAY - timedelta(days=1)), "--re-enrol")
    assert old.exit_code == 1 and "new consent" in old.stderr
    fresh = cli("enrol", "--phone", "9876543219", "--lang", "hi", "--lmp", dmy(LMP),
                "--consent-date", dmy(TODAY), "--re-enrol")
    assert fresh.exit_code == 1 and "has not opted out" in fresh.stderr
    ok = cli(*base, "--consent-date", dmy(TODAY), "--re-enrol", "--actor", "op-2")
    assert ok.exit_code == 0, ok.output
    actor, detail = cli.sql("SELECT actor, detail FROM audit WHERE action = 'enrol' "
                            "ORDER BY id DESC")[0]
    assert actor == "op-2"
    assert json.loads(detail)["re_enrol"] is True
    assert json.loads(detail)["opted_out"] == f"woman {her}"


def test_an_opted_out_number_cannot_become_another_womans_by_update(cli):
    her = enrol(cli)
    other = enrol(cli, "9876543211", "Rekha", LMP - timedelta(days=9), "KEM", "Sunita", TODAY)
    assert cli("women", "opt-out", str(her), "--yes").exit_code == 0
    r = cli("women", "update", str(other), "--phone", PHONE)
    assert r.exit_code == 1 and "opt-out is final" in r.stderr
    assert cli("women", "erase", str(her), "--yes").exit_code == 0
    r = cli("women", "update", str(other), "--phone", PHONE)
    assert r.exit_code == 1 and "record was erased" in r.stderr


def test_erase_twice_and_other_records_on_her_number(cli):
    first = enrol(cli)
    assert cli("women", "event", str(first), "miscarriage", "--yes").exit_code == 0
    second = enrol(cli, lmp=LMP - timedelta(days=20))            # her next pregnancy
    r = cli("women", "erase", str(second), "--yes")
    assert r.exit_code == 0 and f"other records on her number: woman {first}" in r.stderr
    again = cli("women", "erase", str(second), "--yes")
    assert again.exit_code == 0, again.output
    assert "keyed hash" not in again.stderr                    # no number left to hash
    assert json.loads(cli("women", "export", str(second)).stdout)["woman"]["phone"] == ""


def test_import_with_a_lost_erasure_key_fails_cleanly(cli, tmp_path):
    her = enrol(cli)
    assert cli("women", "erase", str(her), "--yes").exit_code == 0
    cli.key_file.unlink()
    f = tmp_path / "w.csv"
    f.write_text(f"phone,language,lmp,consent_date\n9876543219,hi,{dmy(LMP)},{dmy(TODAY)}\n")
    r = cli("import", str(f))
    assert r.exit_code == 1 and "erasure key" in r.stderr and "nothing was imported" in r.stderr


def test_erase_waits_for_a_call_being_placed(cli):
    her = enrol(cli)
    cli.sql("UPDATE deliveries SET acquired_by = 'dialer-1', acquired_until = ? "
            "WHERE subscriber_id = ?", time.time() + 300, her)        # claimed by ivr run
    r = cli("women", "erase", str(her), "--yes")
    assert r.exit_code == 1 and "on a call now" in r.stderr
    shown = json.loads(cli("women", "show", str(her), "--json", "--reveal").stdout)
    assert (shown["status"], shown["name"]) == ("active", NAME)         # nothing half-done
    cli.sql("UPDATE deliveries SET acquired_until = ?", time.time() - 1)   # lease over
    assert cli("women", "erase", str(her), "--yes").exit_code == 0
