"""The node harness itself: its nodes have their own ports, and everything it started is
stopped when the block ends, also when the test inside it fails."""
from __future__ import annotations

import pytest

from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme
from tests.nodes.harness import Cluster

pytestmark = pytest.mark.sandbox


class Boom(Exception):
    pass


async def test_nodes_harness_stops_everything_when_the_test_fails(sandbox, test_sounds,
                                                                  tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    cluster = Cluster(tmp_path, sandbox, test_sounds, path, [None, None])
    with pytest.raises(Boom):
        async with cluster:
            first, second = cluster.nodes
            ports = [vars(n.box.ports) for n in cluster.nodes]
            assert all(n.box.status().running for n in cluster.nodes)
            assert not set(ports[0].values()) & set(ports[1].values())
            killed = await first.run()
            left = await second.run()
            first.kill()
            assert await first.ended(10) == -9
            assert left.returncode is None and killed.returncode == -9     # the other runs on
            raise Boom
    assert left.returncode is not None
    assert not any(n.box.status().running for n in cluster.nodes)
    assert set(cluster.asterisk_cpu) == {"n1", "n2"}
