"""Use cases, each a plain async function over a running Service (store, FastAGI, AMI)."""
from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Sequence

from audio.catalogue import Catalogue
from ivr import constants as C
from ivr.adapters.fastagi import FastAgiServer, by_route
from ivr.adapters.schedules import Schedules
from ivr.adapters.store import CallRecord, NewAttempt, Store, open_store
from ivr.agi_route import CallRoute
from ivr.config import Config
from ivr.controller import CallRequest, Controller
from ivr.errors import BadInput
from ivr.inbound_route import InboundRoute
from ivr.line_secret import line_secret
from ivr.owner import owner_id
from ivr.phone import Phone, PhoneError
from scheduler.rules import reaped
from scheduler.programme import Programme, load_programme


@dataclass
class Service:
    config: Config
    store: Store
    controller: Controller
    catalogue: Catalogue
    fallback_language: str
    programme: Programme            # the first (default) of the installation's programmes
    schedule: Schedules             # the one scheduling store over `store`, for every user


def load_programmes(config: Config) -> list[Programme]:
    """Every programme the configuration names ([ivr] programmes), the default first."""
    return [load_programme(name) for name in config.programmes]


@asynccontextmanager
async def running(config: Config, *, programme: Programme | None = None,
                  programmes: Sequence[Programme] | None = None,
                  agi_port: int | None = None) -> AsyncIterator[Service]:
    """Open the store, start the FastAGI server and log in to AMI; undo it all on exit.
    The programmes are the configured ones unless given (the command line loads them once:
    ivr/commands/common.py, Settings; `programme`: just this one). agi_port=0 picks a free
    port (tests); the default is the configured one."""
    if programmes is None:
        programmes = [programme] if programme is not None else load_programmes(config)
    programme = programmes[0]
    store = await open_store(config)
    catalogue = Catalogue(config.sounds)
    server = None
    controller = None
    try:
        controller = Controller(config, store, agi_url="")     # the server's, once it listens
        schedule = Schedules(store, programmes)
        route = CallRoute(controller, store, catalogue, programme.fallback_language, schedule)
        line = InboundRoute(store, schedule, programme, catalogue,
                            call_centre=config.call_centre, clock=controller.clock,
                            secret=line_secret(config.line_secret, create=True))
        server = FastAgiServer(by_route({C.AGI_ROUTE_INBOUND: line}, route), host=config.agi_host,
                               port=config.agi_port if agi_port is None else agi_port,
                               max_connections=config.agi_max_connections)
        await server.start()
        controller.agi_url = server.url
        await controller.start()
        yield Service(config, store, controller, catalogue, programme.fallback_language,
                      programme, schedule)
    finally:
        if controller is not None:
            await controller.close()
        if server is not None:
            await server.close()
        await store.close()


_LANG = re.compile(r"[a-z]{2,3}(_[a-z]{2,8})?")


async def place_test_call(service: Service, *, to: str, language: str, message: str,
                          trunk: str | None = None) -> CallRecord:
    """`ivr call test`: one call to one number, stored like any other attempt."""
    try:
        digits = Phone.plain(to).digits
    except PhoneError as e:
        raise BadInput(str(e)) from None
    if not _LANG.fullmatch(language):
        raise BadInput(f"language {language!r}: use a code like hi, mr, gu, en")
    if service.catalogue.language_for(language, message, service.fallback_language) is None:
        raise BadInput(f"no recording of {message!r} in {language!r} nor in the fallback "
                           f"{service.fallback_language!r} under {service.config.sounds} "
                           "(try: ivr audio demo, or ivr audio check)")
    request = CallRequest(phone=digits, language=language, message_key=message,
                          trunk=service.config.trunk(trunk), kind="test")
    return await call_and_close(service, request)


async def call_and_close(service: Service, request: CallRequest) -> CallRecord:
    """One attempt with no scheduling behind it: create the row (owned by this process, so
    a restarted service leaves it alone while we live), place the call, close it.
    Cancelled (Ctrl-C), the call is hung up and the row closed before the cancel goes on."""
    store = service.store
    clock = service.controller.clock
    attempt_id = await store.create_attempt(NewAttempt(
        phone=request.phone, language=request.language, message_key=request.message_key,
        kind=request.kind, subscriber_id=request.subscriber_id,
        delivery_id=request.delivery_id, number=request.number), clock(),
        owner=owner_id(service.config.node))
    try:
        report = await service.controller.place_call(request, attempt_id)
    except asyncio.CancelledError:
        row = await asyncio.shield(store.attempt(attempt_id))
        outcome = reaped(bool(row and row.answered_at))        # the one reap rule
        await asyncio.shield(store.attempt_ended(attempt_id, at=clock(), outcome=outcome))
        raise
    await store.attempt_ended(attempt_id, at=report.ended_at, outcome=report.outcome,
                              heard_share=report.heard_share)
    attempt = await store.attempt(attempt_id)
    assert attempt is not None
    return attempt
