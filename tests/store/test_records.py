from datetime import date, datetime, timedelta, timezone

from ivr.adapters import deliveries, subscribers
from ivr.adapters.store import Store
from scheduler.model import DeliveryStatus, Subscriber, SubscriberStatus
from scheduler.retry import AfterAttempt

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)


def woman(phone="919000011", lmp=date(2026, 8, 1)) -> Subscriber:
    return Subscriber(id=0, phone=phone, language="hi", slot="09-12", lmp=lmp)


async def test_enrol_is_idempotent_per_live_phone_and_audited(tmp_path):
    async with await Store.open(tmp_path / "ivr.db") as store:
        a, created = await subscribers.enrol(store, woman(), programme="mmitra", at=NOW,
                                             actor="test", name="सुनीता")
        b, again = await subscribers.enrol(store, woman(lmp=date(2026, 9, 1)), programme="mmitra",
                                           at=NOW, actor="test")
        assert created and not again and a.id == b.id
        assert b.lmp == date(2026, 8, 1) and b.status is SubscriberStatus.ACTIVE
        assert b.enrolled_at == NOW
        rows = await store.fetchall("SELECT actor, action, subscriber_id FROM audit")
        assert [tuple(r) for r in rows] == [("test", "enrol", a.id)]
        names = await store.fetchall("SELECT name FROM subscribers")
        assert names[0][0] == "सुनीता"


async def test_delivery_open_count_and_close(tmp_path):
    async with await Store.open(tmp_path / "ivr.db") as store:
        sub, _ = await subscribers.enrol(store, woman(), programme="mmitra", at=NOW, actor="t")
        d1 = await deliveries.open_delivery(store, sub, "mmitra-p017", NOW, NOW)
        d2 = await deliveries.open_delivery(store, sub, "mmitra-p017", NOW, NOW + timedelta(1))
        assert d1.id == d2.id and d2.next_attempt_at == NOW and d2.status is DeliveryStatus.PENDING
        assert [await deliveries.count_attempt(store, d1.id) for _ in range(3)] == [1, 2, 3]
        retry = NOW + timedelta(hours=2)
        await deliveries.close_or_retry(store, d1.id, AfterAttempt(
            DeliveryStatus.PENDING, retry, 0.0, None))
        assert (await deliveries.get_delivery(store, d1.id)).next_attempt_at == retry
        await deliveries.close_or_retry(store, d1.id, AfterAttempt(
            DeliveryStatus.DELIVERED, None, 0.8, NOW))
        # a closed delivery does not change any more
        await deliveries.close_or_retry(store, d1.id, AfterAttempt(
            DeliveryStatus.UNDELIVERED, None, 0.1, NOW))
        d = await deliveries.get_delivery(store, d1.id)
        assert (d.status, d.heard_share, d.closed_at, d.attempts) == (
            DeliveryStatus.DELIVERED, 0.8, NOW, 3)
