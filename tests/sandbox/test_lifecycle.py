"""A second, private sandbox (temp home, other ports, the shared prefix linked in): start,
status, a no-op second start, stop; the shared sandbox keeps running throughout."""
from __future__ import annotations

import json
import socket
import time

import pytest

from ivr.config import load_config
from ivr.sandbox import Sandbox
from tests.sandbox.conftest import free_port, run_cli

pytestmark = pytest.mark.sandbox


def test_private_sandbox_starts_and_stops_beside_the_shared_one(sandbox, tmp_path, capsys):
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "prefix").symlink_to(sandbox.prefix)   # no second download
    ports = dict(ami_port=free_port(socket.SOCK_STREAM), sip_port=free_port(),
                 rtp_start=31000, rtp_end=31999, agi_port=free_port(socket.SOCK_STREAM),
                 sipp_port=free_port())
    box = Sandbox(tmp_path, **ports)
    t = time.monotonic()
    st = box.start(timeout=30)
    started = time.monotonic() - t
    try:
        assert st.running and st.ami_port == ports["ami_port"]
        assert st.version == sandbox.status().version
        assert Sandbox(tmp_path).start() == st                     # no-op, ports remembered
        cfg = load_config(tmp_path / "ivr.toml", env={"IVR_HOME": str(tmp_path)})
        assert cfg.ami.port == ports["ami_port"] and cfg.agi_port == ports["agi_port"]
        assert f"127.0.0.1:{ports['sip_port']}" in box.cli("pjsip show transports")
        assert "31000" in box.cli("rtp show settings")
        secret = (tmp_path / "sandbox" / "ami-secret").read_text()
        assert secret != (sandbox.root / "ami-secret").read_text()  # per install
        box.reload()
        assert "Context 'sim-phones'" in box.cli("dialplan show sim-phones")
        status = run_cli(tmp_path, "status", "--json")             # ports remembered
        assert json.loads(status.stdout)["ami_port"] == ports["ami_port"], status.output
    finally:
        t = time.monotonic()
        result = run_cli(tmp_path, "stop")
        stopped = time.monotonic() - t
        box.stop()                                                 # no-op unless that failed
    assert result.exit_code == 0, result.output
    assert not box.status().running
    assert sandbox.status().running
    with capsys.disabled():
        print(f"\nprivate sandbox: start-to-ready {started:.2f} s, stop {stopped:.2f} s")
    assert started < 10 and stopped < 10
