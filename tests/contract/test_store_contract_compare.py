"""The same scenario through both stores: the same claims, statuses and counts."""
from datetime import timedelta
from zlib import crc32

from contract_drive import drive, local, utc, woman
from scheduler.model import LifeEvent
from scheduler.outcome import Outcome

START = utc(2026, 3, 20, 2, 30)       # London's clocks go forward on the 29th
OUTCOMES = [Outcome.ANSWERED, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.NO_ANSWER,
            Outcome.CONGESTION, Outcome.UNREACHABLE, Outcome.REJECTED, Outcome.FAILED]


def pick(a):
    """A fixed outcome per (woman, message, attempt): the same for both stores."""
    h = crc32(f"{a.subscriber_id}/{a.message_key}/{a.number}/{a.kind.value}".encode())
    outcome = OUTCOMES[h % len(OUTCOMES)]
    return outcome, (h % 100) / 100 if outcome.answered else None


async def scenario(face):
    zones = ["Asia/Kolkata", "Europe/London", "Africa/Cairo"]
    slots = ["09-12", "12-15", "15-18", "18-21"]
    subs = []
    for i in range(12):
        start = START.date()
        kw = ({"child_dob": start - timedelta(days=3 * i)} if i % 4 == 3
              else {"lmp": start - timedelta(days=30 + 20 * i)})
        subs.append(await face.enrol(woman(i, slot=slots[i % 4], tz=zones[i % 3], **kw), START))
    claims = await drive(face, START, START + timedelta(days=4), pick)
    t = START + timedelta(days=4, hours=1)
    events = [await face.missed_call(subs[0].id, t), await face.missed_call(subs[1].id, t),
              await face.missed_call(subs[1].id, t + timedelta(minutes=3)),
              await face.pause(subs[2].id, t), await face.opt_out(subs[4].id, t),
              await face.life_event(subs[5].id, LifeEvent.MISCARRIAGE, t),
              await face.register_birth(subs[10].id, t.date() - timedelta(days=1), t),
              await face.change_slot(subs[6].id, "18-21", t)]
    claims += await drive(face, t, t + timedelta(days=6), pick)
    t = local("Asia/Kolkata", 2026, 4, 2, 10)
    events.append(await face.resume(subs[2].id, t))
    claims += await drive(face, t, t + timedelta(days=20), pick)
    rows = [(await face.subscriber(s.id), await face.deliveries_of(s.id),
             await face.callbacks_of(s.id)) for s in subs]
    return claims, events, rows, await face.live_attempts(), await face.next_wake()


async def test_every_store_makes_the_same_calls_and_keeps_the_same_rows_postgres_too(both):
    memory, *others = both
    m = await scenario(memory)
    m_claims = m[0]
    assert len(m_claims) > 200
    assert {c.kind for c in m_claims} == {"scheduled", "callback"}
    assert len(others) == 2                              # SQLite and PostgreSQL
    for other in others:
        s = await scenario(other)
        s_claims = s[0]
        for i, (a, b) in enumerate(zip(m_claims, s_claims, strict=True)):
            assert a == b, f"claim {i} differs"
        assert len(m_claims) == len(s_claims)
        assert m[1] == s[1]                              # the changes to the women
        for a, b in zip(m[2], s[2], strict=True):
            assert a == b
        assert m[3:] == s[3:]
