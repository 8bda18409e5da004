"""`ivr run`'s Prometheus metrics, served on loopback (or a private address) by
prometheus_client's HTTP server when `[metrics] enabled = true`.

Everything lives in a registry of this run's own (nothing is registered at import). Most
figures are read at scrape time from the Dialer's status() (the same dict as
run/status.json), on the event loop, so the scrape never reads state half-changed by it; the
store's backlog is queried at most every BACKLOG_EVERY seconds whatever the scrape rate. Two
histograms are observed as things happen, through small hooks in ivr/dial_loop.py: the time a
claim takes, and the time from her missed call to the Originate of her callback.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from threading import Thread
from typing import AsyncIterator, Awaitable, Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ivr.adapters.gauges import Backlog, backlog, callback_requested_at
from ivr.config import MetricsSettings
from scheduler.model import Attempt, AttemptKind

log = logging.getLogger(__name__)

BACKLOG_EVERY = 5.0       # seconds: the store's counts are cached this long
SCRAPE_TIMEOUT = 5.0      # a scrape waits this long for the event loop, then says ivr_up 0
CLAIM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CALLBACK_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)


class Metrics:
    """The metrics of one running Dialer (ivr.service.Dialer)."""

    def __init__(self, dialer, *, clock: Callable[[], float] = time.time,
                 backlog_every: float = BACKLOG_EVERY):
        self.dialer = dialer
        self.clock = clock
        self.backlog_every = backlog_every
        self.registry = CollectorRegistry()
        self.claim_seconds = Histogram(
            "ivr_claim_seconds", "Time one claim of due calls took (the store's transaction).",
            buckets=CLAIM_BUCKETS, registry=self.registry)
        self.callback_delay = Histogram(
            "ivr_callback_delay_seconds",
            "From her missed call to the Originate of the first call back.",
            buckets=CALLBACK_BUCKETS, registry=self.registry)
        self.registry.register(_DialerCollector(self))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog: Backlog | None = None
        self._backlog_at = float("-inf")
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ hooks (service.py)
    def observe_claim(self, seconds: float) -> None:
        self.claim_seconds.observe(max(seconds, 0.0))

    async def callback_gate(self, gate: Callable[[], Awaitable[None]] | None,
                            attempt: Attempt, store) -> Callable[[], Awaitable[None]] | None:
        """The call's gate, wrapped to observe the callback delay once it lets the Originate
        go (only the first call back of a callback request; every other call unchanged)."""
        if (gate is None or attempt.kind is not AttemptKind.CALLBACK
                or attempt.number != 1 or attempt.callback_id is None):
            return gate
        requested_at = await callback_requested_at(store, attempt.callback_id)
        if requested_at is None:
            return gate

        async def observed() -> None:
            await gate()
            self.callback_delay.observe(max(self.clock() - requested_at, 0.0))
        return observed

    # ------------------------------------------------------------------ serving
    def serve(self, host: str, port: int) -> int:
        """Start the HTTP server (its own thread); returns the port it listens on. Call from
        the event loop whose Dialer it reads."""
        self._loop = asyncio.get_running_loop()
        try:
            self._server, self._thread = start_http_server(port, addr=host,
                                                           registry=self.registry)
        except OSError as e:
            raise OSError(f"metrics: cannot listen on {host}:{port}: {e.strerror or e}") from None
        self.port = self._server.server_address[1]
        return self.port

    def close(self) -> None:
        if self._server is not None and self._thread is not None:     # both or neither
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    async def snapshot(self) -> tuple[dict, Backlog | None]:
        """The Dialer's status, and the backlog (re-read when older than backlog_every)."""
        now = self.clock()
        if now - self._backlog_at >= self.backlog_every:
            self._backlog_at = now
            try:
                self._backlog = await backlog(self.dialer.service.store, now)
            except Exception as e:       # a busy or broken store must not break the scrape
                log.warning("metrics: cannot count the backlog: %s", e)
        return self.dialer.status(), self._backlog

    def scrape(self) -> tuple[dict, Backlog | None] | None:
        """From the HTTP server's thread: the snapshot, taken on the event loop."""
        if self._loop is None or self._loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(self.snapshot(), self._loop)
        try:
            return future.result(timeout=SCRAPE_TIMEOUT)
        except Exception as e:
            future.cancel()
            log.warning("metrics: no answer from the dial loop: %r", e)
            return None


class _DialerCollector:
    """Reads the Dialer at scrape time (registered in Metrics' own registry)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self):
        taken = self.metrics.scrape()
        up = GaugeMetricFamily("ivr_up", "1 while the dial loop answers the scrape.")
        up.add_metric([], 1 if taken else 0)
        yield up
        if not taken:
            return
        status, waiting = taken
        yield from dialer_families(status, self.metrics.clock())
        if waiting is not None:
            due = GaugeMetricFamily("ivr_due_backlog", "Calls due now and not yet placed.",
                                    labels=["kind"])
            due.add_metric(["scheduled"], waiting.due_deliveries)
            due.add_metric(["callback"], waiting.due_callbacks)
            yield due
            yield GaugeMetricFamily("ivr_callbacks_pending",
                                    "Callback requests not served, expired or cancelled yet.",
                                    value=waiting.callbacks_pending)


def dialer_families(status: dict, now: float):
    """The metric families of a Dialer.status() dict."""
    yield GaugeMetricFamily("ivr_ami_connected", "1 while logged in to Asterisk's AMI.",
                            value=1 if status["ami_connected"] else 0)
    yield GaugeMetricFamily("ivr_start_time_seconds", "When this `ivr run` started (epoch).",
                            value=status["started_at"])
    live = GaugeMetricFamily("ivr_live_calls", "Calls in progress.", labels=["trunk"])
    channels = GaugeMetricFamily("ivr_trunk_channels", "The trunk's most concurrent calls.",
                                 labels=["trunk"])
    resting = GaugeMetricFamily("ivr_trunk_resting",
                                "1 while the trunk rests after calls failed in a row.",
                                labels=["trunk"])
    failing = GaugeMetricFamily("ivr_trunk_failed_in_a_row", "Calls failed in a row on it.",
                                labels=["trunk"])
    for name, t in status["trunks"].items():
        live.add_metric([name], t["live"])
        channels.add_metric([name], t["channels"])
        until = t.get("resting_until")
        resting.add_metric([name], 1 if until is not None and until > now else 0)
        failing.add_metric([name], t["failed_in_a_row"])
    yield from (live, channels, resting, failing)
    yield CounterMetricFamily("ivr_calls_placed", "Originates written (calls placed).",
                              value=status["placed"])
    outcomes = CounterMetricFamily("ivr_call_outcomes", "Calls ended, by outcome.",
                                   labels=["outcome"])
    for outcome, n in sorted(status["outcomes"].items()):
        outcomes.add_metric([outcome], n)
    yield outcomes
    yield CounterMetricFamily("ivr_missed_calls", "Missed calls received (IvrMissedCall).",
                              value=status["missed_calls"])
    yield CounterMetricFamily("ivr_callbacks", "Call-back calls ended.",
                              value=status["callbacks"])


@asynccontextmanager
async def serving(settings: MetricsSettings, dialer) -> AsyncIterator[Metrics | None]:
    """`ivr run`: the metrics endpoint while the body runs, when enabled; the Dialer's hooks
    observe into it (dialer.metrics)."""
    if not settings.enabled:
        yield None
        return
    metrics = Metrics(dialer)
    port = metrics.serve(settings.host, settings.port)
    dialer.metrics = metrics
    log.info("metrics on http://%s:%d/metrics", settings.host, port)
    try:
        yield metrics
    finally:
        dialer.metrics = None
        await asyncio.to_thread(metrics.close)     # a scrape in flight waits for this loop
