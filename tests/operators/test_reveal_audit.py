"""Every command run with --reveal leaves an audit row: who (--actor, $IVR_ACTOR or the
login), which command, which women."""
import json

from tests.operators.conftest import LMP, TODAY, dmy


def reveals(cli) -> list[tuple]:
    rows = cli.sql("SELECT actor, subscriber_id, detail FROM audit WHERE action = 'reveal' "
                   "ORDER BY id")
    return [(a, s, json.loads(d)["command"], json.loads(d)["women"]) for a, s, d in rows]


def test_every_reveal_is_audited(cli, monkeypatch):
    for phone in ("9876543210", "9876543211"):
        r = cli("enrol", "--phone", phone, "--lang", "hi", "--lmp", dmy(LMP),
                "--consent-date", dmy(TODAY))
        assert r.exit_code == 0, r.output
    assert reveals(cli) == []
    assert cli("women", "show", "1").exit_code == 0                 # masked: nothing to audit
    assert cli("women", "list").exit_code == 0
    assert reveals(cli) == []
    monkeypatch.setenv("IVR_ACTOR", "nurse-4")
    r = cli("enrol", "--phone", "9876543212", "--lang", "hi", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--reveal", "--actor", "op-1")
    assert r.exit_code == 0 and "+919876543212" in r.stdout
    assert cli("women", "show", "2", "--reveal").exit_code == 0
    assert cli("women", "list", "--reveal").exit_code == 0
    assert cli("women", "pause", "1", "--reveal", "--actor", "op-9").exit_code == 0
    assert cli("calls", "--reveal").exit_code == 0
    assert cli("report", "--reveal", "--json").exit_code == 0
    assert cli("schedule", "preview", "--reveal").exit_code == 0
    *rest, preview = reveals(cli)
    assert preview[:3] == ("nurse-4", preview[1], "schedule preview")
    assert set(preview[3]) <= {2, 3}                    # woman 1 is paused; today's calls
    assert rest == [
        ("op-1", 3, "enrol", [3]),
        ("nurse-4", 2, "women show", [2]),
        ("nurse-4", None, "women list", [1, 2, 3]),
        ("op-9", 1, "women pause", [1]),
        ("nurse-4", None, "calls", []),
        ("nurse-4", None, "report", []),
    ]
