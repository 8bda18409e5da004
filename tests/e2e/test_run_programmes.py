"""`ivr run` with two programmes in one installation, against the real sandbox: a woman of
mMitra and a child of Pesinet, both due now, are each called by the one dial loop and hear
their own programme's message in their own language (Hindi; French, a recording of another
length), each attempt under her programme's rules."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from ivr.app import running
from ivr.service import Dialer
from scheduler.content import Track
from scheduler.model import DeliveryStatus, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.conftest import MESSAGE_SECONDS, _tone
from tests.e2e.run_helpers import TEST_MESSAGE, noon_zone, two_programmes, woman_on

pytestmark = pytest.mark.sandbox

FRENCH_SECONDS = 2.0


def sounds_with_french(test_sounds, tmp_path):
    """The test catalogue (hi, mr) and French: the test message 2 s long, every prompt."""
    sounds = tmp_path / "sounds"
    for lang in ("hi", "mr"):
        (sounds / lang).mkdir(parents=True)
        for f in (test_sounds / lang).glob("*.wav"):
            (sounds / lang / f.name).symlink_to(f.resolve())
    _tone(sounds / "fr" / f"{TEST_MESSAGE}.wav", FRENCH_SECONDS, 880)
    for f in (test_sounds / "hi").glob("ivr-*.wav"):
        (sounds / "fr" / f.name).symlink_to(f.resolve())
    return sounds


async def test_ivr_run_two_programmes_each_woman_hears_her_programmes_message(
        call_config, test_sounds, tmp_path):
    config = two_programmes(call_config, tmp_path, sounds_with_french(test_sounds, tmp_path),
                            "pesinet")
    mmitra, pesinet = load_programme(config.programme), load_programme(config.other_programmes[0])
    now = datetime.now(timezone.utc)
    zone = noon_zone(now)                       # midday: mMitra's 12-15, Pesinet's 11-14 open
    child = Subscriber(id=0, phone="919000014", language="fr", slot="11-14", timezone=zone,
                       child_dob=now.date() - timedelta(weeks=20), track=Track.INFANT)
    async with running(config, agi_port=0) as service:
        schedules = service.schedule
        assert [p.name for p in schedules.programmes] == ["mmitra", "pesinet"]
        her = await schedules.of("mmitra").enrol(woman_on("919000011", now), now, actor="test")
        his = await schedules.of("pesinet").enrol(child, now, actor="test")
        dialer = Dialer(service, schedules, config.run_trunks(("sim",)),
                        lease_seconds=min(mmitra.retry.lease, pesinet.retry.lease).total_seconds())
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 120)
        rows = await service.store.fetchall(
            "SELECT a.subscriber_id, a.message_key, a.language, s.programme FROM attempts a "
            "JOIN subscribers s ON s.id = a.subscriber_id ORDER BY a.subscriber_id")
        records = {a: await service.store.attempt(a) for a in
                   [r[0] for r in await service.store.fetchall(
                       "SELECT id FROM attempts ORDER BY subscriber_id")]}
        deliveries = {w: await schedules.deliveries_of(w) for w in (her.id, his.id)}
    assert [(r[0], r[2], r[3]) for r in rows] == [(her.id, "hi", "mmitra"),
                                                 (his.id, "fr", "pesinet")]
    # each her own programme's message
    assert rows[0][1] in {m.key for m in mmitra.messages}
    assert rows[1][1] in {m.key for m in pesinet.messages}
    assert rows[1][1] not in {m.key for m in mmitra.messages}
    hers, his_call = list(records.values())
    assert hers.outcome is Outcome.ANSWERED and his_call.outcome is Outcome.ANSWERED
    assert (hers.language_played, his_call.language_played) == ("hi", "fr")
    # what Asterisk played: each file to its end, of its own length
    assert hers.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.05)
    assert his_call.heard_seconds == pytest.approx(FRENCH_SECONDS, abs=0.05)
    for w, ds in deliveries.items():
        assert [d.status for d in ds if d.attempts] == [DeliveryStatus.DELIVERED], w
