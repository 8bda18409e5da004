"""The reader of what simulated phones heard, on lines recorded from the sandbox Asterisks of
a three-node run (tests/transcripts/sim-phones-messages.log, paths shortened): phone ...11000
heard its message through the FastAGI route; on phone ...13000 `ivr run` was killed -9 1.6 s
into the message (cut short), then the dialplan's fallback played it whole."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import ROOT
from tests.nodes import asterisk_log
from tests.nodes.asterisk_log import Heard, SoundLengths
from tests.sandbox.test_calls import silence_wav

LOG = (ROOT / "tests" / "transcripts" / "sim-phones-messages.log").read_text()
AGI_PHONE, KILLED_PHONE = "919000011000", "919000013000"


@pytest.fixture
def lengths(tmp_path) -> SoundLengths:
    silence_wav(tmp_path / "hi" / "mmitra-p017.wav", 3.0)
    return SoundLengths(tmp_path)


def channel(phone: str) -> str:
    return f"Local/{phone}@sim-phones-0000003a;1"


def test_a_message_played_to_its_end_through_the_route_and_through_the_fallback(lengths):
    assert asterisk_log.heard("n1", LOG, lengths) == [
        Heard("n1", channel(AGI_PHONE), AGI_PHONE, "mmitra-p017",
              datetime(2026, 11, 30, 17, 7, 1, 884000)),
        Heard("n1", channel(KILLED_PHONE), KILLED_PHONE, "mmitra-p017",
              datetime(2026, 11, 30, 17, 7, 3, 866000))]


def test_a_play_cut_short_is_not_heard(lengths):
    """Without the fallback's lines, the killed call heard 1.6 s of a 3 s message."""
    cut = "\n".join(line for line in LOG.splitlines()
                    if KILLED_PHONE not in line
                    or ("17:07:03.8" not in line and "17:07:06" not in line))
    assert [h.phone for h in asterisk_log.heard("n3", cut, lengths)] == [AGI_PHONE]


def test_the_last_line_of_a_channel_proves_nothing(lengths):
    """A message whose channel logs nothing after it (the log read while it plays) is not
    counted: nothing says it reached its end."""
    upto = "\n".join(line for line in LOG.splitlines()
                     if AGI_PHONE not in line or line < "[2026-11-30 17:07:02")
    assert {h.phone for h in asterisk_log.heard("n1", upto, lengths)} == {KILLED_PHONE}


def test_a_longer_recording_than_was_played_is_not_heard(tmp_path):
    silence_wav(tmp_path / "hi" / "mmitra-p017.wav", 3.5)
    assert asterisk_log.heard("n1", LOG, SoundLengths(tmp_path)) == []


def test_a_sound_without_a_recording_in_the_catalogue_is_not_counted(tmp_path):
    assert asterisk_log.heard("n1", LOG, SoundLengths(tmp_path)) == []


def test_heard_twice_in_one_call_is_one_delivery_in_two_calls_two(lengths):
    # the goodbye replaced by her message once more, played whole
    again = LOG.replace("17:07:16.089", "17:07:19.000").replace(
        "ivr-goodbye.slin", "mmitra-p017.slin")
    one = asterisk_log.heard("n1", again, lengths)
    assert [h.phone for h in one] == [AGI_PHONE, KILLED_PHONE]
    other = asterisk_log.heard("n2", LOG, lengths)
    assert asterisk_log.deliveries(one + other) == {(AGI_PHONE, "mmitra-p017"): 2,
                                                    (KILLED_PHONE, "mmitra-p017"): 2}


def test_calls_placed_per_phone():
    assert asterisk_log.dialled(LOG) == {AGI_PHONE: 1, KILLED_PHONE: 1}
    assert asterisk_log.dialled(LOG + "\n" + LOG)[AGI_PHONE] == 2
