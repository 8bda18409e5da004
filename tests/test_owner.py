"""Who holds a live attempt (ivr/owner.py) and the run lock per database. Pure, no Asterisk."""
from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from ivr.owner import owner_id, owner_state, process_started_at
from ivr.service import RunError, RunLock


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
