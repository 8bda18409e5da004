"""`ivr run`'s Prometheus endpoint, scraped over HTTP while the dial loop calls the sandbox."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.config import MetricsSettings
from ivr.metrics import serving
from ivr.service import Dialer
from scheduler.programme import load_programme
from tests.conftest import ROOT
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)

pytestmark = pytest.mark.sandbox


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


async def scrape(port: int) -> dict[tuple, float]:
    """{(sample name, label items...): value}; off the event loop, which the scrape reads."""
    text = await asyncio.to_thread(fetch, port)
    return {(s.name, *sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_of_the_dial_loop_scraped_over_http(call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = replace(with_programme(call_config, path),
                     metrics=MetricsSettings(enabled=True, host="127.0.0.1", port=0))
    programme = load_programme(path)
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        for phone in ("919000074", "919000031"):          # answers for 4 s; busy
            await schedule.enrol(woman_on(phone, now), now, actor="test")
        caller = await schedule.enrol(woman_on("919000011", now), now, actor="test")
        # her message is not due: only her missed call (received 3 s ago) makes her call
        await service.store.execute("UPDATE deliveries SET next_attempt_at = next_attempt_at "
                                    "+ 86400 WHERE subscriber_id = ?", (caller.id,))
        await service.store.execute("INSERT INTO missed_calls (phone, received_at) VALUES (?, ?)",
                                    ("+919000011", time.time() - 3))
        dialer = Dialer(service, schedule, config.run_trunks(("sim",)),
                        lease_seconds=programme.retry.lease.total_seconds())
        async with serving(config.metrics, dialer) as metrics:
            assert dialer.metrics is metrics
            loop = asyncio.create_task(dialer.run(asyncio.Event(), until_idle=True))
            async with asyncio.timeout(60):
                while not any(t["live"] for t in dialer.status()["trunks"].values()):
                    await asyncio.sleep(0.05)       # the loop's own state: no event to await
            during = await scrape(metrics.port)
            await asyncio.wait_for(loop, 120)
            after = await scrape(metrics.port)
        rows = await service.store.fetchall(
            "SELECT outcome, COUNT(*) FROM attempts GROUP BY outcome")
    assert during[("ivr_up",)] == 1 and during[("ivr_ami_connected",)] == 1
    assert during[("ivr_live_calls", ("trunk", "sim"))] >= 1
    assert during[("ivr_trunk_channels", ("trunk", "sim"))] == config.trunk("sim").channels
    assert after[("ivr_live_calls", ("trunk", "sim"))] == 0
    assert after[("ivr_trunk_resting", ("trunk", "sim"))] == 0
    outcomes = {r[0]: r[1] for r in rows}
    assert outcomes == {"answered": 2, "busy": 1}
    assert after[("ivr_calls_placed_total",)] == 3
    for outcome, n in outcomes.items():
        assert after[("ivr_call_outcomes_total", ("outcome", outcome))] == n
    assert after[("ivr_callbacks_total",)] == 1
    assert after[("ivr_claim_seconds_count",)] >= 1
    # her call back went out at least 3 s after her missed call, once
    assert after[("ivr_callback_delay_seconds_count",)] == 1
    assert after[("ivr_callback_delay_seconds_sum",)] >= 3
    assert after[("ivr_callback_delay_seconds_bucket", ("le", "2.0"))] == 0
    assert after[("ivr_due_backlog", ("kind", "scheduled"))] == 0
    assert after[("ivr_callbacks_pending",)] == 0
    # deploy/grafana-dashboard.json asks only for series this exposition has
    missing = metric_names_in_dashboard() - {key[0] for key in after}
    assert not missing, missing


def metric_names_in_dashboard() -> set[str]:
    import re
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    return {n for e in exprs for n in re.findall(r"\b(ivr_[a-z_]+)", e)}
