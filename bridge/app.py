"""Builds the process's one OpenWebUI client, store and engine from settings, and closes them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bridge.engine import Engine, EngineConfig
from bridge.openwebui import OpenWebUIClient
from bridge.settings import Settings
from bridge.store import Store


@dataclass(slots=True)
class Core:
    """What every adapter of the process shares. Adapters register their readiness in `health_checks`
    (name → "is it connected?"), which `/readyz` reports."""

    settings: Settings
    client: OpenWebUIClient
    store: Store
    engine: Engine
    health_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)


def make_client(settings: Settings) -> OpenWebUIClient:
    ow = settings.openwebui
    return OpenWebUIClient(
        ow.url,
        ow.api_key.get_secret_value(),
        connect_timeout=ow.connect_timeout,
        idle_timeout=ow.idle_timeout,
        request_timeout=ow.request_timeout,
    )


@asynccontextmanager
async def open_core(settings: Settings) -> AsyncIterator[Core]:
    """The shared core every adapter of this process uses."""
    store = await Store.open(settings.bridge.database)
    client = make_client(settings)
    config = EngineConfig(
        default_model=settings.openwebui.default_model,
        system_prompt=settings.bridge.system_prompt,
        max_file_bytes=settings.bridge.max_file_bytes,
        file_process_timeout=settings.openwebui.file_process_timeout,
    )
    try:
        yield Core(settings, client, store, Engine(client, store, config))
    finally:
        await client.aclose()
        await store.close()
