"""`ivr dialplan check` and `ivr dialplan install-agi` from the command line."""
from __future__ import annotations

import json
import os
import pwd
import stat
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, home: Path):
    return CliRunner().invoke(main, list(args), env={"IVR_HOME": str(home), "IVR_CONFIG": None})


@pytest.fixture
def copy(tmp_path) -> Path:
    d = tmp_path / "dialplan"
    shutil.copytree(ROOT / "dialplan", d, ignore=shutil.ignore_patterns("sandbox"))
    return d


def test_check_passes_on_the_shipped_files(tmp_path):
    result = invoke("dialplan", "check", home=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "OK" in result.stderr


def test_check_lists_problems_and_exits_1(copy, tmp_path):
    f = copy / "ivr-outbound.conf"
    f.write_text(f.read_text().replace("n,AGI(${IVR_AGI_URL}/call,", "n,AGI(${IVR_AGI_URL}/cal,"))
    (copy / "ami" / "ivr-manager.conf").write_text(
        (copy / "ami" / "ivr-manager.conf").read_text().replace("write = call,",
                                                                "write = system,call,"))
    result = invoke("dialplan", "check", "--dir", str(copy), home=tmp_path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{f}:") and "FastAGI route 'cal'" in line for line in lines)
    assert any("write has 'system'" in line for line in lines)
    assert f"{len(lines)} problem(s)" in result.stderr


def test_check_json(copy, tmp_path):
    (copy / "ivr-fallback.conf").unlink()
    result = invoke("dialplan", "check", "--dir", str(copy), "--json", home=tmp_path)
    assert result.exit_code == 1
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"path", "line", "problem"} == set(found[0])
    assert any("context [ivr-agi-failed] is missing" in p["problem"] for p in found)


def test_check_of_a_deployed_manager_conf(tmp_path):
    conf = tmp_path / "manager.conf"
    conf.write_text('[general]\nbindaddr = 127.0.0.1\nchannelvars = IVR_ATTEMPT_ID\n'
                    f'#include "{ROOT / "dialplan" / "ami" / "ivr-manager.conf"}"\n'
                    "[ivr](ivr-controller)\nsecret = x\n")
    assert invoke("dialplan", "check", "--manager", str(conf), home=tmp_path).exit_code == 0
    conf.write_text(conf.read_text().replace("[ivr](", "[other]("))
    result = invoke("dialplan", "check", "--manager", str(conf), home=tmp_path)
    assert result.exit_code == 1 and "no AMI user [ivr]" in result.stdout


@pytest.mark.parametrize("args,message", [
    (("--dir", "/nonexistent"), "is not a directory"),
    (("--manager", "/nonexistent/manager.conf"), "cannot read /nonexistent/manager.conf"),
])
def test_bad_paths_fail_clearly(tmp_path, args, message):
    result = invoke("dialplan", "check", *args, home=tmp_path)
    assert result.exit_code == 1 and message in result.stderr


def test_check_live_without_asterisk_is_a_problem(tmp_path):
    (tmp_path / "ivr.toml").write_text("[ami]\nport = 1\nsecret = \"x\"\n")
    result = invoke("dialplan", "check", "--live", home=tmp_path)
    assert result.exit_code == 1
    assert "AMI at 127.0.0.1:1" in result.stdout


def test_install_agi(tmp_path):
    result = invoke("dialplan", "install-agi", str(tmp_path), "--python", "/opt/ivr/bin/python",
                    home=tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "ivr-missed-call-fallback").read_text()
    assert "exec /opt/ivr/bin/python -I -m ivr.missed_fallback" in text
    assert f"IVR_MISSED_SPOOL = {tmp_path / 'spool' / 'missed'}" in result.stderr
    assert not (tmp_path / "spool").exists()            # `ivr run` creates it, or --spool-owner
    me = pwd.getpwuid(os.getuid()).pw_name
    made = invoke("dialplan", "install-agi", str(tmp_path), "--spool-owner", me, home=tmp_path)
    assert made.exit_code == 0, made.output
    spool = tmp_path / "spool" / "missed"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o730 and spool.stat().st_uid == os.getuid()
    assert f"created the spool {spool} (owner {me}" in made.stderr
    nobody = invoke("dialplan", "install-agi", str(tmp_path), "--spool-owner", "no-such-user-x",
                    home=tmp_path)
    assert nobody.exit_code == 2 and "no user named 'no-such-user-x'" in nobody.stderr
    bad = invoke("dialplan", "install-agi", str(tmp_path / "nope"), home=tmp_path)
    assert bad.exit_code == 1 and "is not a directory" in bad.stderr


def test_install_agi_writes_the_inbound_line_secret_include(tmp_path):
    include = tmp_path / "etc" / "ivr-line-secret.conf"
    include.parent.mkdir()
    result = invoke("dialplan", "install-agi", str(tmp_path), "--line-secret-include",
                    str(include), home=tmp_path)
    assert result.exit_code == 0, result.output
    secret = (tmp_path / "line.secret").read_text().strip()
    assert stat.S_IMODE((tmp_path / "line.secret").stat().st_mode) == 0o600
    assert stat.S_IMODE(include.stat().st_mode) == 0o640
    assert f"IVR_LINE_SECRET = {secret}\n" in include.read_text()
    assert secret not in result.output                  # the value is never printed
    again = invoke("dialplan", "install-agi", str(tmp_path), "--line-secret-include",
                   str(include), home=tmp_path)
    assert again.exit_code == 0 and (tmp_path / "line.secret").read_text().strip() == secret
