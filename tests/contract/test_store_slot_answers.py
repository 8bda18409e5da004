"""The SQL stores' counts of her answers per slot (ivr/adapters/slot_answers.py): written at
the end of every scheduled call, equal to the in-memory store's learner's counts on the same
scenario, and the population's prior cached by call time."""
import random
from datetime import timedelta

import pytest

from contract_drive import woman
from contract_stores import open_face
from ivr.adapters import slot_answers
from ivr.adapters.slot_answers import SlotLearning
from scheduler.outcome import Outcome
from test_store_contract import DAY, weeks_ago
from test_store_learned_slots import evening_run, learned_mmitra


@pytest.fixture(scope="module")
def programme():
    return learned_mmitra()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_slot_answers_counts_are_the_learners_counts(kind, programme, tmp_path,
                                                           new_pg_database):
    memory = await open_face("memory", programme, tmp_path, new_pg_database)
    sql = await open_face(kind, programme, tmp_path, new_pg_database)
    try:
        await evening_run(memory)
        await evening_run(sql)
        learner = memory.memory.mem._learner
        for sub_id in (1, 2, 3):
            counts = await slot_answers.her_counts(sql.store, sub_id)
            assert counts == learner.hers.get(sub_id, {})
            assert sum(n for n, _ in counts.values()) >= 10
        assert await slot_answers.pooled_counts(sql.store) == learner.pooled
        evening = await slot_answers.her_counts(sql.store, 1)
        assert evening[("18-21", None)][1] >= 8 and evening[("09-12", None)][1] == 0
    finally:
        await sql.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_slot_answers_prior_is_read_again_after_its_refresh(kind, programme, tmp_path,
                                                                  new_pg_database):
    face = await open_face(kind, programme, tmp_path, new_pg_database)
    try:
        sub = await face.enrol(woman(1, lmp=weeks_ago(12)), DAY)
        learning = SlotLearning(programme, random.Random(1), refresh=timedelta(minutes=10))
        first = await learning.prior(face.store, DAY)
        assert first.rates[("09-12", None)] == 0.5            # nobody called yet
        await face.run_plans(DAY)
        [a] = await face.claim(DAY + timedelta(hours=1), "w", 10)
        await face.release(a.id, Outcome.ANSWERED, 1.0, DAY + timedelta(hours=1, minutes=1))
        assert await slot_answers.her_counts(face.store, sub.id) == {("09-12", None): (1, 1)}
        stale = await learning.prior(face.store, DAY + timedelta(minutes=9))
        assert stale.rates[("09-12", None)] == 0.5
        fresh = await learning.prior(face.store, DAY + timedelta(minutes=10))
        assert fresh.rates[("09-12", None)] == pytest.approx(2 / 3)
        assert (await learning.prior(face.store, DAY)).rates[("09-12", None)] == \
            pytest.approx(2 / 3)                              # call time went back: read again
    finally:
        await face.close()
