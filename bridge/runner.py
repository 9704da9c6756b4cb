"""`bridge run`: the configured adapters side by side, a health endpoint, and a clean stop.

On SIGTERM or SIGINT the bridge stops taking messages, lets turns in progress finish for
`BRIDGE_SHUTDOWN_GRACE` seconds, interrupts the rest with a visible note, then disconnects.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from bridge.app import Core
from bridge.health import HealthServer, OpenWebUIWatch

log = logging.getLogger(__name__)

Adapter = Callable[[Core], Awaitable[None]]

EVENT_MEMORY = 7 * 24 * 3600.0
"""How long processed event ids are kept; platforms stop redelivering an event within hours."""


async def forget_old_events(core: Core, every: float = 6 * 3600.0) -> None:
    """Keep the deduplication table small in a bridge that runs for months."""
    while True:
        removed = await core.store.forget_events(older_than=EVENT_MEMORY)
        if removed:
            log.info("forgot %d processed event ids older than %d days", removed, EVENT_MEMORY // 86400)
        await asyncio.sleep(every)


async def serve(core: Core, adapters: dict[str, Adapter], stop: asyncio.Event | None = None) -> None:
    """Run the adapters (by platform name) until `stop` is set or a signal arrives; re-raise the error of
    an adapter that failed. Each platform counts as not ready until its adapter registers its own check."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = OpenWebUIWatch(core.client)
    watcher = asyncio.create_task(watch.run(), name="openwebui-watch")
    forgetter = asyncio.create_task(forget_old_events(core), name="forget-events")
    health: HealthServer | None = None
    settings = core.settings.bridge
    if settings.health_port:
        health = HealthServer(watch, core.health_checks)
        await health.start(settings.health_host, settings.health_port)
    for name in adapters:
        core.health_checks.setdefault(name, lambda: False)
    tasks = [asyncio.create_task(adapter(core), name=name) for name, adapter in adapters.items()]
    stopping = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        failed = next((t for t in done if t is not stopping and not t.cancelled() and t.exception()), None)
        log.info("stopping: %s", "an adapter failed" if failed else "asked to stop")
        await core.engine.drain(settings.shutdown_grace)
    finally:
        background = (*tasks, stopping, watcher, forgetter)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if health:
            await health.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if failed is not None:
        raise failed.exception()  # type: ignore[misc]
