"""A programme's own prompt recordings, against the real sandbox with sipp as the caller: in an
installation running mMitra and m2m that share one sounds folder, an m2m woman calling the
answered line in English hears m2m's own "press 1 for English, 2 for Swahili..." when she keys
the language key (<sounds>/m2m/en/ivr-line-languages.wav), an mMitra woman the shared one
(<sounds>/en/ivr-line-languages.wav). What was played is read from Asterisk's own log: it logs
a STREAM FILE's path only once it has opened the file, the language's folder put in by itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ivr import constants as C
from ivr.app import running
from scheduler.model import Subscriber
from tests.conftest import _tone
from tests.e2e.run_helpers import linked_sounds, two_programmes, woman_on
from tests.e2e.test_answered_line import call_the_line, wait_for_row
from tests.nodes.asterisk_log import LINE, PLAYING

pytestmark = pytest.mark.sandbox


def shared_sounds_with_english(test_sounds, tmp_path):
    """The test catalogue with English (the Hindi recordings linked), and m2m's own English
    recording of the line's language list (and of nothing else)."""
    sounds = linked_sounds(test_sounds, tmp_path, {"hi": "hi", "mr": "mr", "en": "hi"})
    _tone(sounds / "m2m" / "en" / f"{C.PROMPT_LINE_LANGUAGES}.wav", 0.4, 880)
    return sounds


def played(log_text: str, name: str) -> list[tuple[str, str]]:
    """(path, language) of every play of the sound `name` Asterisk logged."""
    out = []
    for raw in log_text.splitlines():
        line = LINE.match(raw)
        m = PLAYING.match(line["text"]) if line else None
        if m and m["sound"].rsplit(".", 1)[0].endswith("/" + name):
            out.append((m["sound"].rsplit(".", 1)[0], m["language"]))
    return out


async def test_answered_line_programme_prompt_m2m_woman_hears_her_programmes_own(
        call_config, test_sounds, sandbox, tmp_path):
    sounds = shared_sounds_with_english(test_sounds, tmp_path)
    config = two_programmes(call_config, tmp_path, sounds, "m2m")
    now = datetime.now(timezone.utc)
    log_from = sandbox.log_file.stat().st_size
    async with running(config, agi_port=0) as service:
        schedules = service.schedule
        m2m_woman = await schedules.of("m2m").enrol(Subscriber(
            id=0, phone="254712345678", language="en", slot="17-20", timezone="Africa/Nairobi",
            lmp=now.date() - timedelta(weeks=12)), now, actor="test")
        mmitra_woman = await schedules.of("mmitra").enrol(
            woman_on("919000078", now, language="en"), now, actor="test")
        # her message (3 s) plays whole; 4 (the language key) at 4.5 s, at the menu
        for caller in ("+254712345678", "+919000078"):
            await call_the_line(sandbox, tmp_path, service.controller.agi_url, caller,
                                [(4500, C.KEY_LINE_LANGUAGE)], hang_up_after_ms=2000)
        rows = await wait_for_row(service.store, 2)
    log_text = sandbox.log_file.read_bytes()[log_from:].decode(errors="replace")
    assert [(r["kind"], r["subscriber_id"], r["keys"]) for r in rows] == [
        ("woman", m2m_woman.id, C.KEY_LINE_LANGUAGE),
        ("woman", mmitra_woman.id, C.KEY_LINE_LANGUAGE)], rows
    assert played(log_text, C.PROMPT_LINE_LANGUAGES) == [
        (f"{sounds}/m2m/{C.PROMPT_LINE_LANGUAGES}", "en"),
        (f"{sounds}/{C.PROMPT_LINE_LANGUAGES}", "en")], log_text[-3000:]
    # the other prompts m2m has no own recording of are the shared ones
    assert played(log_text, C.PROMPT_LINE_MENU) and all(
        path == f"{sounds}/{C.PROMPT_LINE_MENU}" for path, _ in
        played(log_text, C.PROMPT_LINE_MENU))
