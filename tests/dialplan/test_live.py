"""`ivr dialplan check --live` against the real sandbox Asterisk, as the controller's user."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from ivr.config import load_config
from ivr.dialplan.live import check_live
from ivr.dialplan.parse import parse_dialplan

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]


def files() -> dict[str, str]:
    return {str(p): p.read_text() for p in sorted((ROOT / "dialplan").glob("*.conf"))}


@pytest.fixture
def cfg(sandbox, tmp_path):
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    spool = tmp_path / "spool"
    spool.mkdir()
    # the sandbox's [globals] name its own spool; the check compares with ivr.toml's
    return cfg, spool


def test_the_sandbox_passes(sandbox):
    result = CliRunner().invoke(main, ["dialplan", "check", "--live"],
                                env={"IVR_HOME": str(sandbox.home), "IVR_CONFIG": None})
    assert result.exit_code == 0, result.output
    assert "and the running Asterisk OK" in result.stderr


def test_differences_with_ivr_toml_and_the_files_are_reported(cfg):
    config, spool = cfg
    other = replace(config, agi_port=config.agi_port + 1, missed_spool=spool, call_centre=True)
    edited = files()
    path = next(p for p in edited if p.endswith("ivr-fallback.conf"))
    edited[path] = edited[path].replace("n,Hangup()\n same => n(sorry)",
                                        "n,Hangup(16)\n same => n(sorry)")
    edited["new.conf"] = "; new: [ivr-new]\n[ivr-new]\nexten => s,1,NoOp()\n"
    problems = "\n".join(str(p) for p in check_live(other, parse_dialplan(edited)))
    assert f"IVR_AGI_URL is 'agi://127.0.0.1:{config.agi_port}'" in problems
    assert f"IVR_MISSED_SPOOL is '{config.spool}', ivr.toml wants '{spool}'" in problems
    assert "IVR_DATABASE" not in problems      # the sandbox's Asterisk is not told the database
    assert "context [ivr-new] is not loaded" in problems
    assert "[ivr-apology] s,2 runs Hangup(), the file says Hangup(16)" in problems
    assert "call centre" not in problems                  # the sandbox has one


def test_a_wrong_secret_is_reported(cfg):
    config, _ = cfg
    from ivr.dialplan.live import LiveError
    with pytest.raises(LiveError, match="refused the login"):
        check_live(config.with_ami_secret("wrong-secret"), parse_dialplan(files()))
