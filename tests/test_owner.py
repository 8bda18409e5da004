"""Who holds a live attempt (ivr/owner.py) and the run lock per database. Pure, no Asterisk."""
from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from ivr.owner import owner_id, owner_state, process_started_at
from ivr.run_lock import RunError, RunLock


def test_this_process_is_alive():
    assert owner_state(owner_id()) == "alive"


def test_a_finished_process_is_dead():
    child = subprocess.Popen(["true"])
    child.wait()
    assert owner_state(owner_id(pid=child.pid)) == "dead"


def test_a_reused_pid_is_dead():
    """The owner id was made long before the process now holding the pid started."""
    started = process_started_at(os.getpid())
    assert started is not None and abs(started - time.time()) < 24 * 3600 * 365
    assert owner_state(owner_id(at=started - 600)) == "dead"


def test_nobody_is_dead_and_another_host_is_left_to_its_lease():
    assert owner_state(None) == "dead"
    assert owner_state("") == "dead"
    assert owner_state(f"not-{socket.gethostname()}:1:0") == "elsewhere"
    assert owner_state("garbage") == "elsewhere"


def test_one_run_per_database_whatever_the_state_directory(tmp_path):
    database = tmp_path / "shared" / "ivr.db"
    with RunLock(database):
        with pytest.raises(RunError, match="already running on the database"):
            with RunLock(database):
                pass
    with RunLock(database):                      # released: it can be taken again
        pass
    with RunLock(tmp_path / "other.db"), RunLock(database):
        pass                                     # two databases, two services


def test_no_action_the_gateway_sends_is_ever_re_sent_after_a_reconnect():
    """panoramisk re-sends, after a reconnect, every action not in forgetable_actions: an
    Originate would call her twice, a Hangup would name a channel of the Asterisk before a
    restart. Every action ivr/adapters/ami.py writes must be forgettable."""
    import re
    from pathlib import Path

    import ivr.adapters.ami as gateway
    source = Path(gateway.__file__).read_text(encoding="utf-8")
    sent = {name.lower() for name in re.findall(r'"Action": "(\w+)"', source)}
    sent |= {"command"}                                    # manager.send_command
    assert {"originate", "hangup", "coreshowchannels", "ping"} <= sent
    assert sent <= set(gateway.FORGETABLE)
