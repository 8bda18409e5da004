"""A node's `ivr run` against the real sandbox: its owner id names the node, a shared trunk
paces at its share (alone: the shared cap), its heartbeat row ends stopped, and `ivr status
--nodes` shows it."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from cli import main
from ivr.adapters.nodes import read_nodes
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, with_programme
from tests.e2e.test_run import enrolling, run_until_idle, set_ups_in_any_second

pytestmark = pytest.mark.sandbox


async def test_nodes_a_node_runs_its_share_and_says_so(call_config, sandbox, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = replace(with_programme(call_config, path), node="e2e-node", heartbeat_seconds=1.0,
                     trunks=tuple(replace(t, channels=6, cps=5.0, shared_cps=2.0)
                                  for t in call_config.trunks))
    phones = [f"7{i:02d}" for i in range(1, 7)]        # answer, hang up after 5 s
    seen = {}

    async def check(schedule, dialer):
        rows = await schedule.store.fetchall(
            "SELECT started_at, outcome FROM attempts ORDER BY started_at")
        assert len(rows) == len(phones) and {r["outcome"] for r in rows} == {"answered"}
        assert set_ups_in_any_second(rows) <= 2          # its share: the whole shared cap
        seen["owner"] = dialer.owner
        [node] = await read_nodes(schedule.store)
        seen["node"] = node

    await run_until_idle(config, enrolling(phones), check)
    assert seen["owner"].startswith("e2e-node@")
    node = seen["node"]
    assert (node.name, node.owner) == ("e2e-node", seen["owner"])
    assert node.stopped_at is not None and node.live_calls == {} and node.cps_shares == {}

    result = await asyncio.wait_for(asyncio.to_thread(  # the command runs its own event loop
        CliRunner().invoke, main, ["status", "--nodes", "--json"],
        env={"IVR_HOME": str(sandbox.home), "IVR_DATABASE": str(config.database)}), 30)
    assert result.exit_code == 0, result.output
    [view] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (view["node"], view["state"]) == ("e2e-node", "stopped")
