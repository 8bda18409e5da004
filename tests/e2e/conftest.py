"""Fixtures of the calling-service tests against the sandbox."""
from __future__ import annotations

import socket

import pytest

from ivr.sandbox import Sandbox
from tests.sandbox.conftest import free_port


@pytest.fixture
def private_box(sandbox, tmp_path):
    """A sandbox Asterisk of the test's own (own home and free ports), for tests that stop,
    restart or shut it down; it reuses the shared sandbox's unpacked Asterisk (no second
    download) and is stopped at the end."""
    home = tmp_path / "asterisk"
    (home / "sandbox").mkdir(parents=True)
    (home / "sandbox" / "prefix").symlink_to(sandbox.prefix)
    box = Sandbox(home, ami_port=free_port(socket.SOCK_STREAM), sip_port=free_port(),
                  rtp_start=32000, rtp_end=32999, agi_port=free_port(socket.SOCK_STREAM),
                  sipp_port=free_port())
    box.start()
    try:
        yield box
    finally:
        box.stop()
