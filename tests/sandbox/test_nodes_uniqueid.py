"""Each node's Asterisk prefixes its Uniqueids with the node name (asterisk.conf systemname,
rendered by the sandbox): two nodes' Asterisks never make the same one, and missed_calls is
unique on it. Against the real sandbox Asterisk."""
from __future__ import annotations

import re

import pytest

from ivr import constants as C
from ivr import missed_spool
from tests.sandbox.test_missed_fallback import (local_event, new_did, new_spool,
                                                originate_missed, spooled)

pytestmark = pytest.mark.sandbox


async def test_nodes_uniqueid_carries_the_node_name(ami, sandbox, tmp_path):
    node = sandbox.node()
    assert (sandbox.etc / "asterisk.conf").read_text().count(f"\nsystemname = {node}\n") == 1
    spool = new_spool(tmp_path)
    did = new_did()
    await originate_missed(ami, did, spool, "919876543210")
    event = await ami.wait_for(local_event(did), 10)
    # a sandbox started before systemname was rendered needs `ivr sandbox restart`
    assert re.fullmatch(rf"{re.escape(node)}-\d+\.\d+", event["Uniqueid"]), event["Uniqueid"]
    [call] = spooled(spool)
    assert call.uniqueid == event["Uniqueid"]            # the spool and missed_calls key
    assert event[C.HEADER_MISSED_CALL_FILE] == event["Uniqueid"] + missed_spool.SUFFIX
