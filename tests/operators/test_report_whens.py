"""The at-risk list's shortcuts give what the plain functions give: records.Whens is
records.when (local minutes, DST changes, half-hour zones, instants on a minute's edge),
scheduler.engagement.weeks_since / flagged_weeks are weeks_unanswered / at_risk (instants
on a week's edge), phone.mask_name writes the initials as before (any script)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from ivr.operators.records import Whens, when
from ivr.phone import mask_name
from scheduler.engagement import Engagement, at_risk, flagged_weeks, weeks_since, \
    weeks_unanswered
from scheduler.policy import AtRiskRule

ZONES = ("Asia/Kolkata", "Europe/Paris", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kathmandu", "America/St_Johns", "UTC", "Pacific/Apia")
CHANGES = (1774746000.0, 1792890000.0, 1772953200.0, 1775919600.0)  # EU, US 2026; a day


def _instants(rnd: random.Random) -> list[float]:
    out = [rnd.uniform(1_700_000_000, 1_800_000_000) for _ in range(3000)]
    out += [round(rnd.uniform(1_700_000_000, 1_800_000_000) / 60) * 60 + d
            for d in (0.0, -1e-7, 1e-7, -5e-7, 5e-7, 59.99995, 0.00004) for _ in range(200)]
    out += [c + d for c in CHANGES for d in range(-7200, 7200, 450)]
    out += [c + d for c in CHANGES for d in (-1e-6, -5e-7, 0.0, 5e-7, 1e-6)]
    return out


def test_whens_writes_what_when_writes():
    rnd = random.Random(14)
    local = Whens()
    compared = 0
    for x in _instants(rnd):
        for tz in ZONES:
            assert local(x, tz) == when(x, tz), (x, tz)
            compared += 1
    assert local(None, "Asia/Kolkata") is None
    assert compared > 30_000


def test_weeks_since_is_weeks_unanswered():
    rnd = random.Random(15)
    rule = AtRiskRule(unanswered_weeks=3, low_listening_calls=2, low_listening_share=0.5)
    now = datetime(2026, 12, 1, 10, 0, 0, 123457, tzinfo=timezone.utc)
    t = now.timestamp()
    sinces: list[float | None] = [None, t, t + 3600]
    sinces += [t - rnd.uniform(0, 60 * 86400) for _ in range(3000)]
    sinces += [t - w * 7 * 86400 + d for w in range(8)
               for d in (0.0, 1e-7, -1e-7, 5e-7, -5e-7, 1e-6, -1e-6, 2e-3, -2e-3)]
    flagged = 0
    for since in sinces:
        eng = Engagement(unanswered_since=None if since is None else
                         datetime.fromtimestamp(since, timezone.utc))
        assert weeks_since(since, now) == weeks_unanswered(eng, now), since
        for run in (0, 1, 2, 5):
            want = at_risk(Engagement(unanswered_since=eng.unanswered_since,
                                      low_listening_run=run), rule, now)
            [got] = flagged_weeks([(since, run)], rule, now)
            assert (got is not None) == want, (since, run)
            flagged += want
            if want:
                assert got == weeks_unanswered(eng, now)
    assert flagged > 1000
    assert weeks_since(t - 7 * 86400, now + timedelta(microseconds=-1)) == 0


def test_mask_name_writes_the_initials_as_before():
    names = ["Seema Patil", "सीमा पाटील", "  ß  straße ", "ǆemal x", "a", "", "ﬁona  ", "İ ı",
             "Ωμέγα σίγμα", "مريم أحمد", "\u0301e e"]
    rnd = random.Random(16)
    names += ["".join(rnd.choice("aZ ßǆ\u0301ﬁİ सि") for _ in range(rnd.randrange(12)))
              for _ in range(2000)]
    for name in names:
        words = name.split()
        before = " ".join(f"{w[0].upper()}." for w in words) if words else "-"
        assert mask_name(name) == before, name
