"""Free text an operator enters (name, partner, health worker) refuses control characters and
the invisible bidi controls, through one check used by enrol, import and women update."""
import pytest

from ivr.operators.normalise import short_text
from tests.operators.conftest import LMP, TODAY, dmy

def women(cli) -> int:
    if not cli.database.exists():
        return 0
    return cli.sql("SELECT COUNT(*) FROM subscribers")[0][0]


HIDDEN = ["\u202e", "\u202a", "\u202d", "\u2066", "\u2069", "\u200e", "\u200f", "\x85",
          "\x9b", "\x1b", "\n", "\x7f"]


@pytest.mark.parametrize("ch", HIDDEN)
def test_short_text_refuses_control_and_bidi_characters(ch):
    with pytest.raises(ValueError, match=f"name: control character U\\+{ord(ch):04X}"):
        short_text(f"Seema{ch}Patil", "name")


def test_short_text_keeps_indian_scripts_joiners_and_tabs():
    assert short_text("क्\u200dष", "name") == "क्\u200dष"          # ZWJ: Devanagari needs it
    assert short_text("ज्\u200cञ", "name") == "ज्\u200cञ"          # ZWNJ
    assert short_text("a\tb", "name") == "a b"


def test_enrol_refuses_a_bidi_override_in_every_free_text_field(cli):
    for option in ("--name", "--partner", "--health-worker"):
        r = cli("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
                "--consent-date", dmy(TODAY), option, "KEM\u202eHospital")
        assert r.exit_code == 1 and "U+202E" in r.stderr, (option, r.output)
    assert women(cli) == 0


def test_update_refuses_c1_control(cli):
    r = cli("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--name", "Seema")
    assert r.exit_code == 0, r.output
    for option in ("--name", "--partner", "--health-worker"):
        bad = cli("women", "update", "1", option, "Asha\x85Kamble")
        assert bad.exit_code == 2 and "U+0085" in bad.output, bad.output
    assert cli.sql("SELECT name, partner, health_worker FROM subscribers") == \
        [("Seema", None, None)]


def test_import_refuses_the_whole_file_naming_the_row(cli, tmp_path):
    rows = ["phone,name,language,lmp,consent_date",
            f"9876543210,Seema,hi,{dmy(LMP)},{dmy(TODAY)}",
            f"9876543211,\u2066Rekha\u2069,hi,{dmy(LMP)},{dmy(TODAY)}",
            f"9876543212,Anita,hi,{dmy(LMP)},{dmy(TODAY)}"]
    f = tmp_path / "w.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = cli("import", str(f))
    assert r.exit_code == 1
    assert "line 3" in r.stderr and "U+2066" in r.stderr and "nothing imported" in r.stderr
    assert women(cli) == 0


def test_actor_is_free_text_too(cli):
    r = cli("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--actor", "op\u202e1")
    assert r.exit_code == 2 and "U+202E" in r.output
    assert women(cli) == 0
    assert cli("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
               "--consent-date", dmy(TODAY), "--actor", " op 1 ").exit_code == 0
    r = cli("women", "pause", "1", "--actor", "x\x9by")
    assert r.exit_code == 2 and "U+009B" in r.output
