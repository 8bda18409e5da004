"""ivr/agi_route.py's pure helper: the channel name kept in the opt-out audit row."""
from __future__ import annotations

import pytest

from ivr.agi_route import masked_channel


@pytest.mark.parametrize("channel, masked", [
    ("Local/919000021@sim-phones-00000012;1", "Local/******021@sim-phones-00000012;1"),
    ("PJSIP/carrier-0000000a", "PJSIP/carrier-0000000a"),         # the counter is no number
    ("PJSIP/carrier-00012345", "PJSIP/carrier-00012345"),
    ("PJSIP/+919876543210@carrier-1", "PJSIP/+*********210@carrier-1"),
    ("SIP/sip:919876543210@10.0.0.1-00000001", "SIP/sip:*********210@10.0.0.1-00000001"),
    ("", ""),
])
def test_masked_channel_hides_numbers_not_channel_counters(channel, masked):
    assert masked_channel(channel) == masked
