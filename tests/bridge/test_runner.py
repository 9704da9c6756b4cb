"""`bridge run`'s orchestration: health endpoints, OpenWebUI watch, adapters stopped cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bridge.app import Core, open_core
from bridge.runner import serve
from bridge.settings import BridgeSettings, DiscordSettings, OpenWebUISettings, Settings, SlackSettings
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.processes import free_port


def make_settings(url: str, key: str, tmp_path: Path, port: int) -> Settings:
    return Settings(
        OpenWebUISettings(_env_file=None, url=url, api_key=key),  # type: ignore[call-arg]
        BridgeSettings(
            _env_file=None,
            data_dir=tmp_path,
            health_port=port,
            health_host="127.0.0.1",  # type: ignore[call-arg]
            shutdown_grace=1,
        ),
        DiscordSettings(_env_file=None),  # type: ignore[call-arg]
        SlackSettings(_env_file=None),  # type: ignore[call-arg]
    )


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
    connected = asyncio.Event()
    stopped = asyncio.Event()

    async def adapter(core: Core) -> None:
        await asyncio.sleep(0.5)  # until an adapter has registered its check, its platform is not ready
        core.health_checks["test"] = connected.is_set
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    stop = asyncio.Event()
    fake_owui.down = True
    try:
        async with open_core(make_settings(fake_owui.url, fake_owui.api_key, tmp_path, port)) as core:
            running = asyncio.create_task(serve(core, {"test": adapter}, stop))
            base = f"http://127.0.0.1:{port}"
            assert (await wait_status(f"{base}/healthz", 200)).json() == {"status": "ok"}
            not_ready = await wait_status(f"{base}/readyz", 503)
            assert not_ready.json()["checks"] == {"openwebui": False, "test": False}
            fake_owui.down = False
            connected.set()
            ready = await wait_status(f"{base}/readyz", 200, timeout=15)  # the watch backs off 1, 2, 4 s
            assert ready.json()["checks"] == {"openwebui": True, "test": True}
            metrics = (await wait_status(f"{base}/metrics", 200)).text
            assert "bridge_turns_started_total" in metrics and "bridge_active_conversations" in metrics
            stop.set()
            await asyncio.wait_for(running, 10)
            assert stopped.is_set()
    finally:
        fake_owui.down = False


async def test_an_adapter_that_fails_stops_the_bridge_with_its_error(fake_owui: FakeOpenWebUI, tmp_path: Path) -> None:
    async def broken(core: Core) -> None:
        raise RuntimeError("platform refused the token")

    async with open_core(make_settings(fake_owui.url, fake_owui.api_key, tmp_path, 0)) as core:
        with pytest.raises(RuntimeError, match="refused the token"):
            await asyncio.wait_for(serve(core, {"broken": broken}), 10)
