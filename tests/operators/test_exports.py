"""What `ivr report` exports for other people and other programs: CSV that a spreadsheet cannot
run as formulas, an HTML page private to its owner, charts whatever the names hold, and
figures formatted by their kind."""
import csv
import io
import os
import re
import stat
import time

import pytest

from ivr.operators.csvout import safe_cell
from ivr.operators.report_html import _table
from tests.operators.test_calls_report import population


def set_in_store(cli, sql, *args):
    """Straight into the store: whatever an older version or another tool let in."""
    cli.sql(sql, *args)


@pytest.mark.parametrize("value,cell", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+919876543210", "'+919876543210"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("  =1", "'  =1"), ("-3", "'-3"),
    ("NGO Sakhi", "NGO Sakhi"), ("a=b", "a=b"), ("", ""),
    (-3, -3), (0.25, 0.25), (-0.5, -0.5), (None, ""), (True, "True"),
    (float("-inf"), "'-inf"),
])
def test_a_cell_is_neutralised_by_its_type_and_first_character(value, cell):
    assert safe_cell(value) == cell


def test_report_csv_neutralises_formulas_from_the_data(cli):
    population(cli)
    set_in_store(cli, "UPDATE subscribers SET name = ?, partner = ? WHERE id = 2",
                 "=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1+1)")
    set_in_store(cli, "UPDATE subscribers SET partner = ? WHERE id = 1", "-2+3")
    at_risk = cli("report", "--section", "at_risk", "--csv", "--reveal")
    assert at_risk.exit_code == 0, at_risk.output
    [row] = list(csv.DictReader(io.StringIO(at_risk.stdout)))
    assert row["name"] == "'=HYPERLINK(\"http://evil\",\"x\")" and row["partner"] == "'@SUM(1+1)"
    assert row["phone"] == "'+919876543211" and row["weeks_unanswered"] == "4"
    whole = cli("report", "--csv", "--by", "partner")
    assert whole.exit_code == 0, whole.output
    rows = list(csv.DictReader(io.StringIO(whole.stdout)))
    groups = {r["group"] for r in rows}
    assert {"'-2+3", "'@SUM(1+1)", "NGO Sakhi"} <= groups
    assert not [r for r in rows for v in r.values() if v[:1] in ("=", "+", "@", "\t", "\r")]
    assert {"section": "funnel", "group": "'-2+3", "row": "1", "column": "enrolled",
            "value": "1"} in rows
    plain = cli("report", "--json", "--by", "partner")          # JSON keeps the data as it is
    assert '"group": "-2+3"' in plain.stdout


def test_html_report_survives_mathtext_in_a_partner_name(cli, tmp_path):
    population(cli)
    set_in_store(cli, "UPDATE subscribers SET partner = ? WHERE id = 1", "$x^{$")
    set_in_store(cli, "UPDATE subscribers SET partner = ? WHERE id = 2", "$\\alpha$ 50$")
    page = tmp_path / "report.html"
    r = cli("report", "--html", str(page), "--by", "partner")
    assert r.exit_code == 0, r.output
    text = page.read_text(encoding="utf-8")
    assert "<td>$x^{$</td>" in text and "<td>$\\alpha$ 50$</td>" in text
    assert len(re.findall(r"src='data:image/png;base64,", text)) >= 6


def test_html_report_is_created_private(cli, tmp_path, monkeypatch):
    """0600 from its creation: the file that ends up at the path was created by os.open with
    no bit for others already set, whatever the umask (not chmod'ed down afterwards)."""
    population(cli)
    created = {}
    real_open = os.open

    def recording_open(path, flags, mode=0o777, *a, **kw):
        fd = real_open(path, flags, mode, *a, **kw)
        if flags & os.O_CREAT and str(path).startswith(str(tmp_path / "out")):
            st = os.fstat(fd)
            created[st.st_ino] = stat.S_IMODE(st.st_mode)
        return fd

    (tmp_path / "out").mkdir()
    page = tmp_path / "out" / "report.html"
    page.write_text("old, world-readable")
    page.chmod(0o644)
    monkeypatch.setattr(os, "open", recording_open)
    old_umask = os.umask(0o022)
    try:
        r = cli("report", "--html", str(page))
    finally:
        os.umask(old_umask)
    assert r.exit_code == 0, r.output
    st = page.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert created.get(st.st_ino) == 0o600                  # born 0600
    assert os.listdir(tmp_path / "out") == ["report.html"]  # no temporary file left
    assert "<html>" in page.read_text(encoding="utf-8")


def test_html_report_cannot_be_written_fails_cleanly(cli, tmp_path):
    population(cli)
    r = cli("report", "--html", str(tmp_path / "missing" / "report.html"))
    assert r.exit_code == 1 and "cannot write" in r.stderr


def test_html_cells_are_formatted_by_their_kind_not_their_size():
    html = _table([{"group": "all", "missed_calls": 2, "median_delay_min": 0.5,
                    "p90_delay_min": 1.0, "rate": 0.5, "retained": 1.0, "share_50": None}])
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells == ["all", "2", "0.5", "1.0", "50.0%", "100.0%", "-"]


def test_html_report_shows_a_half_minute_callback_delay_as_minutes(cli, tmp_path):
    population(cli)
    now = time.time()
    set_in_store(cli, "INSERT INTO callback_requests (subscriber_id, requested_at, status, "
                 "served_at) VALUES (1, ?, 'served', ?)", now - 600, now - 570)
    page = tmp_path / "report.html"
    assert cli("report", "--html", str(page)).exit_code == 0
    text = page.read_text(encoding="utf-8")
    callbacks = text[text.index("Missed calls and callbacks"):]
    head = re.findall(r"<th>([^<]*)</th>", callbacks.split("</tr>")[0])
    row = re.findall(r"<td>([^<]*)</td>", callbacks.split("</tr>")[1])
    assert dict(zip(head, row, strict=True))["median_delay_min"] == "0.5"
