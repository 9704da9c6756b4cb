"""`bridge run`'s orchestration: health endpoints, OpenWebUI watch, adapters stopped cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bridge.app import open_app
from bridge.messages import InterruptedTurn
from bridge.runner import serve
from bridge.settings import Settings
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.processes import free_port
from tests.conftest import core_settings


def make_settings(url: str, key: str, tmp_path: Path, port: int) -> Settings:
    return core_settings(url, key, data_dir=tmp_path, health_port=port, health_host="127.0.0.1", shutdown_grace=1)


class Idle:
    """An adapter that connects when told, then waits to be stopped."""

    def __init__(self, connected: asyncio.Event | None = None, failure: Exception | None = None) -> None:
        self.connected = connected or asyncio.Event()
        self.failure = failure
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        if self.failure is not None:
            raise self.failure

    def ready(self) -> bool:
        return self.connected.is_set()

    async def wait_closed(self) -> None:
        await asyncio.Event().wait()

    async def stop(self, grace: float) -> None:
        self.stopped.set()

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        return []


async def wait_status(url: str, status: int, timeout: float = 10) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                response = await http.get(url)
                if response.status_code == status:
                    return response
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{url} never answered {status}")
            await asyncio.sleep(0.1)


async def test_health_ready_metrics_and_stop(fake_owui: FakeOpenWebUI, tmp_path: Path) -> None:
    port = free_port()
    adapter = Idle()
    stop = asyncio.Event()
    fake_owui.down = True
    try:
        async with open_app(make_settings(fake_owui.url, fake_owui.api_key, tmp_path, port)) as app:
            running = asyncio.create_task(serve(app, {"test": adapter}, stop))
            base = f"http://127.0.0.1:{port}"
            assert (await wait_status(f"{base}/healthz", 200)).json() == {"status": "ok"}
            not_ready = await wait_status(f"{base}/readyz", 503)
            assert not_ready.json()["checks"] == {"openwebui": False, "database": True, "test": False}
            fake_owui.down = False
            adapter.connected.set()
            ready = await wait_status(f"{base}/readyz", 200, timeout=15)  # the watch backs off 1, 2, 4 s
            assert ready.json()["checks"] == {"openwebui": True, "database": True, "test": True}
            metrics = (await wait_status(f"{base}/metrics", 200)).text
            assert "bridge_turns_started_total" in metrics and "bridge_active_conversations" in metrics
            stop.set()
            await asyncio.wait_for(running, 10)
            assert adapter.stopped.is_set()
    finally:
        fake_owui.down = False


async def test_a_database_file_replaced_while_running_fails_readiness(
    fake_owui: FakeOpenWebUI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup restored over the file of a running bridge is a file the bridge does not use: it says so."""
    port = free_port()
    stop = asyncio.Event()
    settings = make_settings(fake_owui.url, fake_owui.api_key, tmp_path, port)
    async with open_app(settings) as app:
        running = asyncio.create_task(serve(app, {"test": Idle(asyncio.Event())}, stop))
        base = f"http://127.0.0.1:{port}"
        backup = tmp_path / "backup.db"
        backup.write_bytes(settings.bridge.database.read_bytes())
        backup.replace(settings.bridge.database)
        body = (await wait_status(f"{base}/readyz", 503)).json()
        assert body["checks"]["database"] is False
        assert "replaced" in body["database_error"] and str(settings.bridge.database) in body["database_error"]
        assert (await wait_status(f"{base}/readyz", 503)).json()["database_error"] == body["database_error"]
        stop.set()
        await asyncio.wait_for(running, 10)
    assert [r.levelname for r in caplog.records if "replaced" in r.getMessage()] == ["CRITICAL"]


async def test_an_adapter_that_fails_stops_the_bridge_with_its_error(fake_owui: FakeOpenWebUI, tmp_path: Path) -> None:
    broken = Idle(failure=RuntimeError("platform refused the token"))
    healthy = Idle()
    async with open_app(make_settings(fake_owui.url, fake_owui.api_key, tmp_path, 0)) as app:
        with pytest.raises(RuntimeError, match="refused the token"):
            await asyncio.wait_for(serve(app, {"broken": broken, "healthy": healthy}), 10)
    assert broken.stopped.is_set() and healthy.stopped.is_set()  # every adapter is stopped, the failed one too
