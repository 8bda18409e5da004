"""The outreach list's pure part as it was before the speed-up (scheduler/outreach.py and
outreach_weeks.py at afbbacd): a Group and a Counts per transition in `estimate`, a Pick per
woman and a full sort in `rank`, a new Week per week in `histories`. Kept as the reference
for tests/scheduler/test_outreach_estimate_fast.py and bench/outreach_list_bench.py."""
from __future__ import annotations

from scheduler.outreach import (
    ACTIVE, PASSIVE, Chain, Counts, Grouping, Model, Pick, Week, _group, group_of, whittle_index,
)
from scheduler.outreach_weeks import LAST_WEEK

DEFAULT = Grouping()


def reference_estimate(histories, grouping=DEFAULT, prior_weeks=8.0) -> Model:
    total = Counts()
    counts = {}
    n = grouping.recent_weeks
    for history in histories.values():
        engaged = 0
        for t in range(len(history) - 1):
            engaged += history[t].engaging
            if t >= n:
                engaged -= history[t - n].engaging
            group = _group(engaged, min(t + 1, n), t + 1, grouping)
            counts.setdefault(group, Counts()).add(history[t], history[t + 1])
            total.add(history[t], history[t + 1])

    def chain(rows):
        return Chain(((rows[0][0], rows[0][1]), (rows[1][0], rows[1][1])))
    population = chain([[(total.engaged[a][s] + 1) / (total.weeks[a][s] + 2) for s in (0, 1)]
                        for a in (0, 1)])
    groups = {g: chain([[(c.engaged[a][s] + prior_weeks * population.engage[a][s])
                         / (c.weeks[a][s] + prior_weeks) for s in (0, 1)] for a in (0, 1)])
              for g, c in counts.items()}
    return Model(population, groups, counts, grouping)


def reference_rank(histories, model, capacity, beta=0.9, objective="drops"):
    index = {}
    picks = []
    for sid, history in histories.items():
        if not history:
            continue
        group = group_of(history, model.grouping)
        chain = model.chain(group)
        state = int(history[-1].engaging)
        if (group, state) not in index:
            index[group, state] = whittle_index(chain, state, beta, objective=objective)
        if index[group, state] > 0.0 and chain.effect(state) > 0.0:
            picks.append(Pick(sid, index[group, state], bool(state), group,
                              chain.engage[PASSIVE][state], chain.engage[ACTIVE][state]))
    picks.sort(key=lambda p: (-p.index, p.subscriber_id))
    return picks[:capacity]


def reference_histories(women, rows, first_week: int) -> dict[int, list[Week]]:
    seen: dict = {}
    for r in rows:
        seen.setdefault(r.subscriber_id, {})[r.week] = r
    out = {}
    for w in women:
        mine = seen.get(w.subscriber_id, {})
        first = max(first_week, w.enrolled_week)
        last = LAST_WEEK if w.active else \
            min(LAST_WEEK, max((n for n in mine if n >= first), default=first - 1))
        out[w.subscriber_id] = [Week(False, False) if mine.get(n) is None
                                else Week(mine[n].engaging, mine[n].called)
                                for n in range(first, last + 1)]
    return out
