"""Bad states and bad input give a SandboxError with a clear message (temp homes, other ports:
the shared sandbox is never touched), and the pure helpers behave."""
from __future__ import annotations

import socket
import stat
import tomllib
from pathlib import Path

import pytest

from ivr.sandbox import Sandbox, SandboxError
from ivr.sandbox.apt import ARCHES, MARKER, mirror_from_sources
from ivr.sandbox.model import Ports
from ivr.sandbox.render import set_keys, substitute, write_ivr_toml
from tests.sandbox.conftest import free_port

TRIPLET, LOADER = ARCHES["amd64"]


def private_ports() -> dict[str, int]:
    return dict(ami_port=free_port(socket.SOCK_STREAM), sip_port=free_port(),
                rtp_start=31000, rtp_end=31999, agi_port=free_port(socket.SOCK_STREAM),
                sipp_port=free_port())


def fake_prefix(home: Path, loader_script: str | None) -> Path:
    """A prefix that claims to be complete; the loader is a shell script (or missing)."""
    prefix = home / "sandbox" / "prefix"
    lib = prefix / "usr/lib" / TRIPLET
    (lib / "asterisk/modules").mkdir(parents=True)
    for mod in ("chan_pjsip.so", "res_agi.so"):
        (lib / "asterisk/modules" / mod).write_text("")
    (prefix / "usr/share/asterisk/documentation").mkdir(parents=True)
    (prefix / "usr/sbin").mkdir(parents=True)
    (prefix / "usr/sbin/asterisk").write_text("")
    if loader_script is not None:
        (lib / LOADER).write_text(loader_script)
        (lib / LOADER).chmod(0o755)
    (prefix / MARKER).write_text("Asterisk 22.0.0-fake\n")
    return prefix


def test_start_with_a_prefix_missing_its_binary_says_what_to_do(tmp_path):
    prefix = fake_prefix(tmp_path, loader_script="#!/bin/sh\nexit 0\n")
    (prefix / "usr/sbin/asterisk").unlink()
    with pytest.raises(SandboxError) as e:
        Sandbox(tmp_path, **private_ports()).start(timeout=5)
    msg = str(e.value)
    assert "incomplete or corrupt" in msg and "usr/sbin/asterisk" in msg
    assert "ivr sandbox provision" in msg
    assert not Sandbox(tmp_path).status().running


def test_start_when_asterisk_dies_shows_its_output_and_cleans_up(tmp_path):
    fake_prefix(tmp_path, loader_script="#!/bin/sh\necho 'boom: cannot load libc'\nexit 1\n")
    ports = private_ports()
    with pytest.raises(SandboxError) as e:
        Sandbox(tmp_path, **ports).start(timeout=5)
    assert "exited while starting" in str(e.value)
    assert "boom: cannot load libc" in str(e.value)
    again = Sandbox(tmp_path)                            # the ports were remembered
    assert again.ports == Ports(**ports)
    assert not again.status().running
    assert not (tmp_path / "sandbox/rt/run/sandbox.pid").exists()
    assert not (tmp_path / "ivr.toml").exists()          # nothing half-done for the config
    manager_conf = tmp_path / "sandbox/rt/etc/manager.conf"
    assert stat.S_IMODE(manager_conf.stat().st_mode) == 0o600


def test_start_on_a_busy_ami_port_refuses(tmp_path):
    fake_prefix(tmp_path, loader_script="#!/bin/sh\nexit 1\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SandboxError, match=f"127.0.0.1:{port} is in use"):
            Sandbox(tmp_path, **{**private_ports(), "ami_port": port}).start(timeout=5)


def test_cli_and_reload_need_a_running_sandbox(tmp_path):
    box = Sandbox(tmp_path)
    with pytest.raises(SandboxError, match="not running"):
        box.cli("core show version")
    with pytest.raises(SandboxError, match="not running"):
        box.reload()
    with pytest.raises(SandboxError, match="one non-empty line"):
        box.cli("core show version\r\nAction: Originate")
    box.stop()                                           # stopping a stopped sandbox: no-op


@pytest.mark.parametrize("ports,message", [
    (dict(ami_port=0), "port number"),
    (dict(sip_port=70000), "port number"),
    (dict(rtp_start=30000, rtp_end=20000), "below rtp_end"),
    (dict(ami_port=5060, sip_port=5060), "differ"),
    (dict(agi_port=25000), "inside the RTP range"),
])
def test_bad_ports_are_refused(tmp_path, ports, message):
    with pytest.raises(SandboxError, match=message):
        Sandbox(tmp_path, **ports)


def test_mirror_comes_from_the_host_sources():
    deb822 = {"debian.sources": "Types: deb\nURIs: http://mirror.example/debian\nSuites: x\n\n"
                                "Types: deb\nURIs: http://mirror.example/debian-security\n"}
    assert mirror_from_sources(deb822, "") == "http://mirror.example/debian"
    one_line = "# comment\ndeb [arch=amd64] https://m.example/debian bookworm main\n"
    assert mirror_from_sources({}, one_line) == "https://m.example/debian"
    with pytest.raises(SandboxError, match="no Debian mirror"):
        mirror_from_sources({}, "# nothing\n")


def test_templates_with_unknown_placeholders_are_refused():
    assert substitute("port = @AMI_PORT@", {"AMI_PORT": "5038"}, "x.conf") == "port = 5038"
    with pytest.raises(SandboxError, match="@NOPE@"):
        substitute("x = @NOPE@", {"AMI_PORT": "1"}, "x.conf")


def test_ivr_toml_written_kept_then_updated_keeping_added_keys(tmp_path):
    path = tmp_path / "ivr.toml"
    assert write_ivr_toml(path, 5038, "s3cret-aaaaaaaaaaaa", 4573) == "written"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_ivr_toml(path, 5038, "s3cret-aaaaaaaaaaaa", 4573) == "kept"
    path.write_text(path.read_text().replace('username = "ivr"',
                                             'username = "ivr"\nping_interval = 2.5'))
    assert write_ivr_toml(path, 15038, "other-bbbbbbbbbbbbb", 4573) == "updated"
    data = tomllib.loads(path.read_text())
    assert data["ami"] == {"host": "127.0.0.1", "port": 15038, "username": "ivr",
                           "secret": "other-bbbbbbbbbbbbb", "ping_interval": 2.5}
    assert [t["name"] for t in data["trunk"]] == ["sim", "carrier"]
    assert write_ivr_toml(path, 15038, "other-bbbbbbbbbbbbb", 14573) == "updated"
    assert tomllib.loads(path.read_text())["agi"] == {"host": "127.0.0.1", "port": 14573}
    path.write_text("[ami\n")
    with pytest.raises(SandboxError, match="not valid TOML"):
        write_ivr_toml(path, 5038, "s3cret-aaaaaaaaaaaa", 4573)


def test_set_keys_adds_a_missing_section_and_missing_keys():
    text = '[ivr]\ndatabase = "x.db"\n\n[[trunk]]\nname = "a"\n'
    out = set_keys(text, "ami", {"port": "1", "secret": '"s"'})
    assert tomllib.loads(out)["ami"] == {"port": 1, "secret": "s"}
    out = set_keys('[ami]\nhost = "h"\n\n[agi]\nport = 2\n', "ami", {"port": "1"})
    assert tomllib.loads(out) == {"ami": {"host": "h", "port": 1}, "agi": {"port": 2}}


def test_start_with_a_broken_ivr_toml_fails_before_launching(tmp_path):
    fake_prefix(tmp_path, loader_script="#!/bin/sh\necho launched >&2\nexit 1\n")
    (tmp_path / "ivr.toml").write_text("[ami\nport = 1\n")
    with pytest.raises(SandboxError, match="ivr.toml is not valid TOML"):
        Sandbox(tmp_path, **private_ports()).start(timeout=5)
    assert not (tmp_path / "sandbox/rt/log/stdout.log").exists()   # Asterisk never launched
