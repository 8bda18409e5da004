"""The running sandbox: provisioning, status, rendered files, loaded dialplan, the CLI."""
from __future__ import annotations

import json
import stat
import time

import pytest
from click.testing import CliRunner

from ivr import constants as C
from ivr.commands.sandbox import command
from ivr.config import load_config
from ivr.sandbox import Sandbox
from tests.sandbox.conftest import ROOT, run_cli

pytestmark = pytest.mark.sandbox


def test_status_is_running_asterisk_22(sandbox):
    st = sandbox.status()
    print(f"sandbox Asterisk: {st.version}")
    assert st.running and st.pid is not None
    assert st.version is not None and st.version.startswith("Asterisk 22")
    assert (st.ami_port, st.sip_port) == (sandbox.ports.ami_port, sandbox.ports.sip_port)
    assert "Asterisk 22" in sandbox.cli("core show version")


def test_provision_again_is_idempotent_and_fast(sandbox):
    t = time.monotonic()
    version = Sandbox(sandbox.home).provision()
    assert time.monotonic() - t < 2.0
    assert version == sandbox.status().version


def test_start_when_running_is_a_no_op(sandbox):
    before = sandbox.status()
    again = Sandbox(sandbox.home).start()
    assert again == before


def test_the_ami_secret_is_generated_and_private(sandbox):
    secret = (sandbox.root / "ami-secret").read_text().strip()
    assert len(secret) >= 24
    manager_conf = sandbox.etc / "manager.conf"
    assert stat.S_IMODE(manager_conf.stat().st_mode) == 0o600
    assert stat.S_IMODE((sandbox.root / "ami-secret").stat().st_mode) == 0o600
    assert f"secret = {secret}" in manager_conf.read_text()
    assert f"channelvars = {C.VAR_ATTEMPT_ID}" in manager_conf.read_text()
    template = (ROOT / "dialplan" / "sandbox" / "manager.conf").read_text()
    assert "secret = @AMI_SECRET@" in template and secret not in template


def test_ivr_toml_points_at_the_sandbox(sandbox):
    path = sandbox.home / "ivr.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = load_config(path, env={"IVR_HOME": str(sandbox.home)})
    assert cfg.ami.port == sandbox.ports.ami_port
    assert cfg.ami.secret == (sandbox.root / "ami-secret").read_text().strip()
    assert [t.name for t in cfg.trunks] == ["sim", "carrier"]
    assert cfg.trunk("sim").dial == f"Local/{{digits}}@{C.CONTEXT_SIM_PHONES}"


def test_sim_phones_list_every_behaviour(sandbox):
    out = sandbox.cli(f"dialplan show {C.CONTEXT_SIM_PHONES}")
    for b in range(1, 9):
        assert f"'_9190000{b}.'" in out
        assert f"'_{b}XX'" in out
    for behaviour in ("listens", "presses-keys", "busy", "no-answer", "congestion", "rejects",
                      "hangs-up", "stays-on"):
        assert f"'{behaviour}'" in out


@pytest.mark.parametrize("context,needle", [
    (C.CONTEXT_OUTBOUND,
     f"AGI(${{{C.GLOBAL_AGI_URL}}}/{C.AGI_ROUTE_CALL},${{{C.VAR_ATTEMPT_ID}}})"),
    (C.CONTEXT_AGI_FAILED, f"UserEvent({C.USEREVENT_AGI_FAILED},"),
    (C.CONTEXT_MISSED_CALL, f"Gosub({C.CONTEXT_MISSED_CALL_RECORD},s,1)"),
    (C.CONTEXT_MISSED_CALL_RECORD, f"UserEvent({C.USEREVENT_MISSED_CALL},"),
    (C.CONTEXT_MISSED_CALL_RECORD, f"AGI({C.AGI_SCRIPT_MISSED_CALL},${{{C.GLOBAL_MISSED_SPOOL}}},"),
    (C.CONTEXT_CALL_CENTRE, f"Dial(${{{C.GLOBAL_CALL_CENTRE}}},"),
    (C.CONTEXT_APOLOGY, "Playback("),
])
def test_production_contexts_are_loaded(sandbox, context, needle):
    out = sandbox.cli(f"dialplan show {context}")
    assert f"Context '{context}'" in out
    assert needle in out
    rendered = (sandbox.etc / "extensions.conf").read_text()
    assert f'#include "{ROOT / "dialplan"}/' in rendered      # the production files themselves


def test_global_agi_url_defaults_to_the_agi_port(sandbox):
    out = sandbox.cli("dialplan show globals")
    assert f"{C.GLOBAL_AGI_URL}=agi://127.0.0.1:{sandbox.ports.agi_port}" in out


def test_carrier_endpoint_lands_in_the_missed_call_context(sandbox):
    out = sandbox.cli("pjsip show endpoint carrier")
    assert "sandbox-from-carrier" in out      # reads the test header, then the production one
    assert f"Goto({C.CONTEXT_MISSED_CALL}," in sandbox.cli("dialplan show sandbox-from-carrier")
    assert f"sip:127.0.0.1:{sandbox.ports.sipp_port}" in sandbox.cli("pjsip show aors")


def test_cli_status_json(sandbox):
    result = run_cli(sandbox.home, "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["running"] is True and data["version"].startswith("Asterisk 22")
    assert data["ami_port"] == sandbox.ports.ami_port


def test_cli_runs_an_asterisk_command(sandbox):
    result = run_cli(sandbox.home, "cli", "dialplan", "show", "sandbox-test")
    assert result.exit_code == 0, result.output
    assert "Context 'sandbox-test'" in result.stdout


def test_cli_on_a_home_without_sandbox_fails_clearly(tmp_path):
    result = run_cli(tmp_path, "cli", "core", "show", "version")
    assert result.exit_code == 1
    assert "not running" in result.stderr and "ivr sandbox start" in result.stderr
    result = run_cli(tmp_path, "status", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"running": False, "pid": None, "version": None,
                                         "ami_port": 5038, "sip_port": 5060}


@pytest.mark.parametrize("name", sorted(command.commands))
def test_every_sandbox_command_has_help_with_an_example(name):
    for flag in ("-h", "--help"):
        result = CliRunner().invoke(command, [name, flag])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "Example" in (command.commands[name].help or "")
