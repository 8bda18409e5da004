"""Nodes, pure (ivr/nodes.py, ivr/owner.py, the configuration, a lane's share): the name, the
state rule, the share of a shared trunk's CPS, the owner id that names the node."""
from __future__ import annotations

import socket

import pytest

from ivr.config import ConfigError, Trunk, load_config
from ivr.lanes import Lane
from ivr.nodes import (ALIVE, STALE, STOPPED, NodeNameError, NodeRow, check_node_name,
                       cps_share, name_taken, node_state, running)
from ivr.owner import owner_id, owner_node, owner_state
from ivr.pacing import Pacer

NOW = 1_000_000.0


def row(name="a", *, beat=NOW - 1, every=5.0, stopped=None, shares=None) -> NodeRow:
    return NodeRow(name=name, host="h", pid=1, owner=f"{name}@h:1:0", started_at=NOW - 100,
                   heartbeat_at=beat, heartbeat_every=every, stopped_at=stopped,
                   cps_shares=shares or {})


# ---------------------------------------------------------------------------- the name
@pytest.mark.parametrize("name", ["a", "node-1", "mumbai.dc2", "N_7", "x" * 32])
def test_nodes_good_names_pass(name):
    assert check_node_name(name, "IVR_NODE") == name


@pytest.mark.parametrize("name", ["", "x" * 33, "with space", "a:b", "a@b", "é", "a/b"])
def test_nodes_bad_names_are_refused_saying_where_and_why(name):
    with pytest.raises(NodeNameError, match=r"IVR_NODE: a node name is 1 to 32 letters"):
        check_node_name(name, "IVR_NODE")


def test_nodes_name_from_env_file_or_host(tmp_path):
    assert load_config(env={"IVR_HOME": str(tmp_path)}).node == socket.gethostname()
    (tmp_path / "ivr.toml").write_text('[ivr]\nnode = "pune-1"\n')
    assert load_config(env={"IVR_HOME": str(tmp_path)}).node == "pune-1"
    assert load_config(env={"IVR_HOME": str(tmp_path), "IVR_NODE": "pune-2"}).node == "pune-2"
    (tmp_path / "ivr.toml").write_text('[ivr]\nnode = "pune 1"\n')
    with pytest.raises(ConfigError, match=r"\[ivr\] node in .*ivr.toml: a node name is 1 to 32"):
        load_config(env={"IVR_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"IVR_NODE: a node name"):
        load_config(env={"IVR_HOME": str(tmp_path), "IVR_NODE": "a:b"})


def test_nodes_heartbeat_and_shared_cps_settings(tmp_path):
    config = load_config(env={"IVR_HOME": str(tmp_path)})
    assert config.heartbeat_seconds == 5.0 and config.trunk().shared_cps is None
    (tmp_path / "ivr.toml").write_text(
        '[run]\nheartbeat_seconds = 2\n[[trunk]]\nname = "c"\ndial = "PJSIP/{digits}@c"\n'
        'cps = 8\nshared_cps = 20\n')
    config = load_config(env={"IVR_HOME": str(tmp_path)})
    assert config.heartbeat_seconds == 2.0 and config.trunk("c").shared_cps == 20.0
    for bad, why in (('shared_cps = 0', "shared_cps must be > 0"),
                     ('shared_cps = "x"', "shared_cps must be float")):
        (tmp_path / "ivr.toml").write_text(
            f'[[trunk]]\nname = "c"\ndial = "PJSIP/{{digits}}@c"\n{bad}\n')
        with pytest.raises(ConfigError, match=why):
            load_config(env={"IVR_HOME": str(tmp_path)})
    (tmp_path / "ivr.toml").write_text('[run]\nheartbeat_seconds = 0.1\n')
    with pytest.raises(ConfigError, match="run.heartbeat_seconds must be 0.5..300"):
        load_config(env={"IVR_HOME": str(tmp_path)})


# ---------------------------------------------------------------------------- the owner id
def test_nodes_owner_id_names_the_node_and_keeps_the_process_check():
    mine = owner_id("pune-1")
    assert mine.startswith(f"pune-1@{socket.gethostname()}:")
    assert owner_node(mine) == "pune-1" and owner_state(mine) == "alive"
    assert owner_state(owner_id("pune-1", pid=2 ** 22 + 1)) == "dead"   # no such pid here
    # another host's claim: never judged by a process check here, whatever its node
    assert owner_state(f"pune-1@not-{socket.gethostname()}:1:0") == "elsewhere"
    # an owner id of an older version (no node) is read as before
    old = f"{socket.gethostname()}:1:0"
    assert owner_node(old) is None and owner_state(old) in ("alive", "dead")
    assert owner_node(None) is None


# ---------------------------------------------------------------------------- the state rule
@pytest.mark.parametrize("changes, state", [
    ({}, ALIVE),
    ({"beat": NOW - 15}, ALIVE),                    # exactly 3 intervals: not yet stale
    ({"beat": NOW - 15.1}, STALE),
    ({"beat": NOW - 15.1, "every": 10.0}, ALIVE),   # its own interval counts
    ({"stopped": NOW - 3600, "beat": NOW - 3600}, STOPPED),
    ({"stopped": NOW - 1}, STOPPED),
])
def test_nodes_state_from_row_and_now(changes, state):
    assert node_state(row(**changes), NOW) == state


# ---------------------------------------------------------------------------- the CPS share
def share(rows, own=10.0, shared=12.0, me="me", trunk="c"):
    return cps_share(trunk, own_cps=own, shared_cps=shared, me=me, rows=rows, now=NOW)


@pytest.mark.parametrize("rows, own, expected", [
    ([], 10.0, 10.0),                                         # alone: its own cps bounds it
    ([], 20.0, 12.0),                                         # alone: the shared cap
    ([row("b", shares={"c": 6.0})], 10.0, 6.0),               # two: half each
    ([row("b", shares={"c": 4.0}), row("d", shares={"c": 4.0})], 10.0, 4.0),   # three
    ([row("b", shares={"c": 12.0})], 10.0, 0.0),              # b holds it all: wait for it
    ([row("b", shares={"c": 9.0})], 10.0, 3.0),               # only what b leaves
    ([row("b", shares={"c": 6.0})], 2.0, 2.0),                # never above its own cps
    ([row("b", shares={"x": 12.0})], 10.0, 10.0),             # b does not run this trunk
    ([row("b", shares={"c": 6.0}, beat=NOW - 16)], 10.0, 10.0),     # b is stale
    ([row("b", shares={"c": 6.0}, stopped=NOW - 1)], 10.0, 10.0),   # b stopped
    ([row("me", shares={"c": 12.0}), row("b", shares={"c": 6.0})], 10.0, 6.0),  # own row left out
])
def test_nodes_cps_share(rows, own, expected):
    assert share(rows, own=own) == pytest.approx(expected)


def test_nodes_shares_never_add_up_above_the_cap_while_nodes_come_and_go():
    """Nodes taking turns at their heartbeat (each reads the others' rows as last written):
    whoever starts, the shares in the table never add up to more than the cap."""
    cap, names = 12.0, ["a", "b", "c", "d"]
    shares: dict[str, float] = {}
    running: list[str] = []
    for turn in range(40):
        if turn % 8 == 0 and len(running) < len(names):
            running.append(names[len(running)])          # a node starts every 8 turns
        if turn == 30:
            running.remove("b")                          # and one stops
            shares.pop("b")
        me = running[turn % len(running)]
        rows = [row(n, shares={"c": s}) for n, s in shares.items()]
        shares[me] = share(rows, own=10.0, shared=cap, me=me)
        assert sum(shares.values()) <= cap + 1e-9, (turn, shares)
    assert shares == {n: pytest.approx(cap / 3) for n in ("a", "c", "d")}


# ---------------------------------------------------------------------------- a lane's share
def test_nodes_a_lane_without_share_takes_no_call_and_a_lower_share_counts_a_second():
    lane = Lane(Trunk("c", "PJSIP/{digits}@c", cps=10.0, shared_cps=12.0))
    assert lane.paused and lane.room(NOW) == 0 and not lane.accepts(NOW)
    lane.share(6.0, NOW)
    assert not lane.paused and lane.pacer.cps == 6.0 and lane.room(NOW) == 6
    lane.share(2.0, NOW + 10)                    # lowered: used at once...
    assert lane.pacer.cps == 2.0 and lane.room(NOW + 10) == 2
    assert lane.used_share(NOW + 10.5) == 6.0    # ...but the last second still held 6
    assert lane.used_share(NOW + 11.01) == 2.0
    lane.share(0.0, NOW + 20)
    assert lane.paused and lane.room(NOW + 20) == 0 and lane.used_share(NOW + 20.5) == 2.0
    unshared = Lane(Trunk("s", "Local/{digits}@s"))
    assert unshared.cps_share is None and not unshared.paused and unshared.room(NOW) == 10


def test_nodes_pacer_takes_a_new_cps_at_once():
    pacer = Pacer(cps=10.0, channels=30)
    for i in range(4):
        pacer.take(NOW + i * 0.1)
    pacer.set_cps(2.0)            # at most 2 in any second from now: the next one only
    # when the set-up at NOW + 0.2 leaves the window (the one at NOW + 0.3 is then alone)
    assert pacer.delay(NOW + 0.35) == pytest.approx(0.85 + 1e-6, abs=1e-5)
    with pytest.raises(ValueError):
        pacer.set_cps(0.0)


# ---------------------------------------------------------------------------- one process a name
@pytest.mark.parametrize("other, dead, taken", [
    ({}, False, True),                                   # alive elsewhere: taken
    ({"beat": NOW - 16}, False, False),                  # stale: free again
    ({"stopped": NOW - 1}, False, False),                # stopped cleanly
    ({}, True, False),                                   # a process of this host, gone
    ({"name": "b"}, False, False),                       # another name
])
def test_nodes_name_taken_by_another_alive_process(other, dead, taken):
    rows = [row(**{"name": "a", **other})]
    found = name_taken(rows, "a", host="me-host", pid=7, now=NOW, dead=lambda owner: dead)
    assert (found is not None) == taken


def test_nodes_name_is_not_taken_by_this_very_process():
    mine = NodeRow(name="a", host="me-host", pid=7, owner="a@me-host:7:1", started_at=NOW,
                   heartbeat_at=NOW, heartbeat_every=5.0)
    assert name_taken([mine], "a", host="me-host", pid=7, now=NOW, dead=lambda o: False) is None


# ---------------------------------------------------------------------------- who runs now
def test_nodes_running_are_the_alive_ones_not_known_dead():
    rows = [row("a"), row("b", beat=NOW - 16), row("c", stopped=NOW - 2), row("d")]
    assert [r.name for r in running(rows, NOW, dead=lambda owner: False)] == ["a", "d"]
    # d's process is gone from this host: its last heartbeat does not hold anything up
    assert [r.name for r in running(rows, NOW, dead=lambda owner: owner.startswith("d@"))] == [
        "a"]
