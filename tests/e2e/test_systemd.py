"""A real `ivr run` as systemd runs it (Type=notify, a watchdog, stderr to the journal):
the notify datagrams on a real unix socket, journald priorities on its log lines, the
metrics endpoint from its configuration, and `ivr status` as the health probe."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme
from ivr.sandbox.run_home import TrunkLimits, free_tcp_port, run_env, write_run_config
from tests.e2e.test_crash import IVR

pytestmark = pytest.mark.sandbox


async def datagram(sock: socket.socket, timeout: float = 20) -> str:
    loop = asyncio.get_running_loop()
    return (await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout)).decode()


async def ivr_status(env) -> tuple[int, str]:
    p = await asyncio.create_subprocess_exec(*IVR, "status", cwd=ROOT, env=env,
                                             stdout=asyncio.subprocess.DEVNULL,
                                             stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(p.communicate(), 30)
    return p.returncode, err.decode()


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


async def test_ivr_run_under_systemd_notify_watchdog_journal_and_health(sandbox, test_sounds,
                                                                        tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(ring_timeout=4))
    port = free_tcp_port()
    with open(home / "ivr.toml", "a") as f:
        f.write(f"[metrics]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\n")
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.setblocking(False)
    read_end, write_end = os.pipe()              # its stderr: the "journal" stream
    st = os.fstat(write_end)
    env = {**run_env(home), "NOTIFY_SOCKET": str(notify_path),
           "WATCHDOG_USEC": "400000", "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    probe_env = {k: v for k, v in env.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    service = await asyncio.create_subprocess_exec(*IVR, "run", cwd=ROOT, env=env,
                                                   stderr=write_end)
    os.close(write_end)
    try:
        assert await datagram(sock) == "READY=1"
        pings = [await datagram(sock, 5) for _ in range(3)]          # every 0.2 s
        assert pings == ["WATCHDOG=1"] * 3
        exposition = await asyncio.to_thread(fetch, port)
        assert "ivr_ami_connected 1.0" in exposition.splitlines()
        code, why = await ivr_status(probe_env)
        assert code == 0, why
        service.send_signal(signal.SIGTERM)
        said = [await datagram(sock, 10)]
        while said[-1] != "STOPPING=1":
            said.append(await datagram(sock, 10))
        assert set(said[:-1]) <= {"WATCHDOG=1"}
        assert await asyncio.wait_for(service.wait(), 60) == 0
    finally:
        if service.returncode is None:
            service.kill()
            await service.wait()
        sock.close()
    with os.fdopen(read_end) as stream:
        lines = stream.read().splitlines()
    logged, summary = lines[:-1], lines[-1]           # click's last line: journald's default
    assert logged and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in logged), lines
    assert summary == "ivr run: stopped; placed 0 call(s): "
    assert any(line.startswith("<6>INFO ivr.metrics: metrics on") for line in lines), lines
    code, why = await ivr_status(probe_env)
    assert code == 1 and "unhealthy: not running" in why
