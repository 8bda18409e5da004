"""`ivr import`: messy files from hospitals and NGOs. Bad rows named by line and reason, good
rows in one transaction, duplicates skipped, a second import adds nobody."""
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from cli import main
from ivr.operators import imports
from scheduler.programme import load_programme
from tests.operators.conftest import LMP, TODAY, dmy

HEADER = "phone,name,language,slot,lmp,edd,child_dob,partner,health_worker,consent_date"
C = dmy(TODAY)


def messy() -> bytes:
    rows = [
        HEADER,                                                          # line 1
        f"+91 98765 43210,सीमा पाटील,hi,09-12,{dmy(LMP)},,,KEM,आशा,{C}",   # 2 good
        "",                                                              # 3 blank
        f"098765 43211,Rekha,mr,18-21,{LMP:%Y-%m-%d},,,KEM,,{C}",          # 4 good
        f"98765 43212,Anita,hi,,{LMP:%d %b %Y},,,NGO Sakhi,,{C}",          # 5 good (default slot)
        f"12345,Bad Number,hi,09-12,{dmy(LMP)},,,KEM,,{C}",               # 6 bad number
        f"9876543213,Bad Date,hi,09-12,31/02/2026,,,KEM,,{C}",            # 7 date does not exist
        f"9876543214,Wrong Lang,xx,09-12,{dmy(LMP)},,,KEM,,{C}",          # 8 unknown language
        f"+91 98765 43210,Twice,hi,09-12,{dmy(LMP)},,,KEM,,{C}",          # 9 same phone as line 2
        ",,,,,,,,,",                                                     # 10 only commas: blank
        f"9876543215,Future,hi,09-12,{dmy(TODAY + timedelta(days=3))},,,KEM,,{C}",  # 11 future LMP
        f"9876543216,No consent,hi,09-12,{dmy(LMP)},,,KEM,,",             # 12 no consent
        f"9876543217,US date,hi,09-12,{LMP:%m/%d/%Y},,,KEM,,{C}"          # 13 month first (maybe)
        if LMP.day > 12 else f"9876543217,US date,hi,09-12,13/13/2026,,,KEM,,{C}",
        f"9876543218,Baby,gu,12-15,,,{dmy(TODAY - timedelta(days=20))},NGO Sakhi,,{C}",  # 14 good
    ]
    return b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8") + b"\r\n"


def test_parse_reports_every_bad_row_with_its_line_and_reason():
    now = datetime.now(timezone.utc)
    plan = imports.parse(messy(), load_programme("mmitra"), now)
    assert [r.line for r in plan.rows] == [2, 4, 5, 14]
    assert plan.rows[0].enrolment.name == "सीमा पाटील"
    assert plan.rows[0].phone == "919876543210"
    assert plan.rows[2].enrolment.subscriber.slot == "09-12"
    errors = {p.line: p.reason for p in plan.errors}
    assert sorted(errors) == [6, 7, 8, 11, 12, 13]
    assert "too short" in errors[6] and "43" not in errors[6]
    assert "does not exist" in errors[7]
    assert "'xx' is not offered" in errors[8]
    assert "future" in errors[11]
    assert "consent" in errors[12]
    assert "day first" in errors[13] or "does not exist" in errors[13]
    assert [(p.line, p.reason) for p in plan.duplicates] == [(9, "same phone as line 2")]
    assert plan.lines == 11


@pytest.mark.parametrize("data,error", [
    (b"", "empty"),
    (b"phone,language,consent_date,colour\n", "unknown column(s) 'colour'"),
    (b"phone,name\n", "missing column(s) language, consent_date"),
    (b"phone,language,consent_date\n9876543210,hi,\xff\xfe\n", "line 2: the file is not UTF-8"),
])
def test_files_that_cannot_be_read(data, error):
    with pytest.raises(imports.ImportFileError, match=re.escape(error)):
        imports.parse(data, load_programme("mmitra"), datetime.now(timezone.utc))


def test_semicolons_and_quoted_commas():
    data = (f"phone;name;language;lmp;consent_date\n9876543210;\"Patil, Seema\";hi;{dmy(LMP)};{C}\n"
            ).encode()
    plan = imports.parse(data, load_programme("mmitra"), datetime.now(timezone.utc))
    assert [r.enrolment.name for r in plan.rows] == ["Patil, Seema"] and not plan.problems


def counts(cli) -> tuple[int, int, int]:
    if not cli.database.exists():
        return (0, 0, 0)
    return tuple(cli.sql(f"SELECT COUNT(*) FROM {t}")[0][0]
                 for t in ("subscribers", "deliveries", "audit"))


def test_import_good_rows_go_in_bad_ones_reported_second_import_adds_nothing(cli, tmp_path):
    f = tmp_path / "women.csv"
    f.write_bytes(messy())
    r = cli("import", str(f))
    assert r.exit_code == 1                              # bad rows found
    assert "4 enrolled" not in r.stdout and "enrolled 4" in r.stdout
    assert f"{f}, line 6: error: phone" in r.stderr
    assert f"{f}, line 9: duplicate: same phone as line 2" in r.stderr
    assert "98765" not in r.stderr + r.stdout            # numbers masked
    assert counts(cli) == (4, 4, 4)
    again = cli("import", str(f), "--json")
    assert again.exit_code == 1
    out = [json.loads(line) for line in again.stdout.splitlines()]
    assert out[-1] == {"file": str(f), "rows": 11, "enrolled": 0, "duplicates": 5, "errors": 6,
                       "dry_run": False}
    dups = [o for o in out if o.get("problem") == "duplicate"]
    assert [d["line"] for d in dups] == [2, 4, 5, 9, 14]
    assert "already enrolled (woman 1, active)" in dups[0]["reason"]
    assert counts(cli) == (4, 4, 4)                   # idempotent


def test_strict_and_dry_run_write_nothing(cli, tmp_path):
    f = tmp_path / "women.csv"
    f.write_bytes(messy())
    r = cli("import", str(f), "--strict")
    assert r.exit_code == 1 and "nothing imported" in r.stderr
    r = cli("import", str(f), "--dry-run")
    assert "would enrol 4" in r.stdout
    assert counts(cli) == (0, 0, 0)


def test_template_imports_as_it_is(cli, tmp_path):
    r = cli("import", "--template")
    assert r.exit_code == 0
    header, example = r.stdout.strip().split("\n")
    assert header.split(",") == list(imports.COLUMN_NAMES)
    f = tmp_path / "t.csv"
    f.write_text(r.stdout, encoding="utf-8")
    r = cli("import", str(f))
    assert r.exit_code == 0 and "enrolled 1" in r.stdout
    actor = cli.sql("SELECT actor, action FROM audit")
    assert actor[0][0].startswith("cli") and actor[0][1] == "enrol"


def test_opted_out_woman_is_not_enrolled_again_by_a_file(cli, tmp_path):
    f = tmp_path / "one.csv"
    f.write_text(f"phone,language,lmp,consent_date\n9876543210,hi,{dmy(LMP)},{C}\n")
    assert cli("import", str(f)).exit_code == 0
    assert cli("women", "opt-out", "1", "--yes").exit_code == 0
    r = cli("import", str(f))
    assert r.exit_code == 0 and "she opted out" in r.stderr and "enrolled 0" in r.stdout
    assert counts(cli)[0] == 1


def test_usage_errors(cli, tmp_path):
    assert cli("import").exit_code == 2
    r = cli("import", str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and "cannot read" in r.stderr


def test_empty_columns_left_by_a_spreadsheet_are_ignored():
    data = f"phone,language,lmp,consent_date,,\r\n9876543210,hi,{dmy(LMP)},{C},,\r\n".encode()
    plan = imports.parse(data, load_programme("mmitra"), datetime.now(timezone.utc))
    assert [r.line for r in plan.rows] == [2] and not plan.problems


def test_import_dash_reads_standard_input(cli):
    data = (f"phone,name,language,lmp,consent_date\n"
            f"9876543210,सीमा,hi,{dmy(LMP)},{dmy(TODAY)}\n").encode()
    r = cli.runner.invoke(main, ["import", "-"], input=data,
                          catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "enrolled 1" in r.stdout
    assert cli.sql("SELECT phone, name FROM subscribers") == [("919876543210", "सीमा")]
    bad = cli.runner.invoke(main, ["import", "-"], input=b"\xff\xfe",
                            catch_exceptions=False)
    assert bad.exit_code == 1 and "<stdin>" in bad.stderr
