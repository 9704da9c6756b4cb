"""Running adapters: start each, repair what a crash left (at start, then periodically: another replica's
crash), report health, and stop them all cleanly.

On SIGTERM or SIGINT the bridge stops taking messages, lets turns in progress finish for
`BRIDGE_SHUTDOWN_GRACE` seconds, interrupts the rest with a visible note, then disconnects.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from bridge.adapter import Adapter
from bridge.app import App
from bridge.errors import StoreError
from bridge.health import DatabaseWatch, HealthServer, OpenWebUIWatch
from bridge.metrics import METRICS

log = logging.getLogger(__name__)

EVENT_MEMORY = 7 * 24 * 3600.0
"""How long processed event ids are kept; platforms stop redelivering an event within hours."""


async def forget_old_events(app: App, every: float = 6 * 3600.0) -> None:
    """Keep the deduplication table small in a bridge that runs for months."""
    while True:
        removed = await app.store.forget_events(older_than=EVENT_MEMORY)
        if removed:
            log.info("forgot %d processed event ids older than %d days", removed, EVENT_MEMORY // 86400)
        await asyncio.sleep(every)


async def sweep_dead_turns(app: App) -> None:
    """Every half lease, close the turns of replicas that died mid-answer (`Engine.sweep`): on PostgreSQL
    another replica's crash is found this way, not only at this process's start."""
    every = app.settings.bridge.lease_seconds / 2
    while True:
        await asyncio.sleep(every)
        try:
            closed = await app.engine.sweep()
        except StoreError as exc:
            log.warning("could not look for turns of stopped replicas: %s", exc)
        else:
            if closed:
                log.info("marked %d answer(s) interrupted: their replica stopped", closed)


async def launch(app: App, name: str, adapter: Adapter) -> None:
    """Start one adapter, then close the turns an earlier process left open on its platform."""
    await adapter.start()
    try:
        count = await app.engine.recover(name, adapter.mark_interrupted)
    except StoreError as exc:
        log.error("%s: could not look for interrupted answers: %s", name, exc)
        return
    if count:
        log.info("%s: marked %d answer(s) interrupted by the last stop", name, count)


async def _run(app: App, name: str, adapter: Adapter) -> None:
    await launch(app, name, adapter)
    await adapter.wait_closed()


async def stop_all(app: App, adapters: dict[str, Adapter], grace: float) -> None:
    """Drain the engine's turns within `grace`, then let every adapter finish its other work in what is
    left of it and disconnect."""
    deadline = time.monotonic() + grace
    await app.engine.drain(grace)
    left = max(deadline - time.monotonic(), 0.0)
    results = await asyncio.gather(*(adapter.stop(left) for adapter in adapters.values()), return_exceptions=True)
    for name, result in zip(adapters, results, strict=True):
        if isinstance(result, BaseException):
            log.error("%s did not stop cleanly: %s", name, result)


async def serve(
    app: App, adapters: dict[str, Adapter], stop: asyncio.Event | None = None, *, health: bool = True
) -> None:
    """Run the adapters (by platform name) until `stop` is set or a signal arrives; re-raise the error of
    an adapter that failed. A platform counts as not ready until its adapter says it is. The database file is
    watched always; `health=False` (the terminal chat) leaves out the OpenWebUI watch and the health endpoint."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    database = DatabaseWatch(app.store)
    METRICS.replica.info({"replica": app.engine.order.replica})
    background = [
        asyncio.create_task(forget_old_events(app), name="forget-events"),
        asyncio.create_task(database.run(), name="database-watch"),
        asyncio.create_task(app.core.budgets.run(), name="shared-budgets"),
        asyncio.create_task(sweep_dead_turns(app), name="sweep-dead-turns"),
    ]
    server: HealthServer | None = None
    settings = app.settings.bridge
    if health:  # a service: OpenWebUI is watched (and logged) in the background, and maybe served on /readyz
        watch = OpenWebUIWatch(app.client)
        background.append(asyncio.create_task(watch.run(), name="openwebui-watch"))
        if settings.health_port:
            checks = {name: adapter.ready for name, adapter in adapters.items()}
            server = HealthServer(watch, database, checks, replica=app.engine.order.replica)
            await server.start(settings.health_host, settings.health_port)
    tasks = [asyncio.create_task(_run(app, name, adapter), name=name) for name, adapter in adapters.items()]
    stopping = asyncio.create_task(stop.wait(), name="stop")
    failed: asyncio.Task[None] | None = None
    try:
        done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        failed = next((t for t in done if t is not stopping and not t.cancelled() and t.exception()), None)
        finished = next((t for t in done if t is not stopping), None)
        reason = "an adapter failed" if failed else f"{finished.get_name()} ended" if finished else "asked to stop"
        log.info("stopping: %s", reason)
        await stop_all(app, adapters, settings.shutdown_grace)
    finally:
        every = (*tasks, stopping, *background)
        for task in every:
            task.cancel()
        await asyncio.gather(*every, return_exceptions=True)
        if server:
            await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if failed is not None:
        raise failed.exception()  # type: ignore[misc]
