"""Shared fixtures: a deterministic model upstream and OpenWebUI, fake (fast) or real (contract).

The `owui` fixture is parametrized: a test that takes it runs against the in-process fake and, as part
of the contract suite, against a real OpenWebUI 0.12.4, so the fake cannot drift from the real server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.engine import Engine, EngineConfig
from bridge.openwebui import OpenWebUIClient
from bridge.store import Store
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.openwebui_server import OpenWebUIUnavailable, RealOpenWebUI, executable
from simulators.threaded import serve_in_thread

pytest_plugins = ["simulators.discord.pytest_plugin"]


@dataclass(frozen=True)
class OwuiTarget:
    """Where a test's OpenWebUI is: `kind` is "fake" or "real"."""

    kind: str
    url: str
    api_key: str
    upstream: ModelUpstream
    fake: FakeOpenWebUI | None = None
    real: RealOpenWebUI | None = None


@pytest.fixture(scope="session")
def model_upstream() -> Iterator[ModelUpstream]:
    upstream = ModelUpstream()
    with upstream.running_in_thread():
        yield upstream


@pytest.fixture(scope="session")
def fake_owui(model_upstream: ModelUpstream) -> Iterator[FakeOpenWebUI]:
    fake = FakeOpenWebUI(model_upstream.base_url)
    with serve_in_thread(fake.start, fake.stop):
        yield fake


@pytest.fixture(scope="session")
def owui_installed() -> Path:
    """The installed OpenWebUI 0.12.4's executable; without it the test fails saying how to install it
    (or is skipped with BRIDGE_SKIP_CONTRACT=1)."""
    try:
        return executable()
    except OpenWebUIUnavailable as missing:
        if os.environ.get("BRIDGE_SKIP_CONTRACT") == "1":
            pytest.skip(f"BRIDGE_SKIP_CONTRACT=1: {missing}")
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def real_owui(owui_installed: Path, model_upstream: ModelUpstream) -> Iterator[RealOpenWebUI]:
    """A started OpenWebUI 0.12.4 with an admin and API key, wired to `model_upstream`."""
    with RealOpenWebUI(model_upstream.base_url) as server:
        yield server


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.contract)])
def owui(request: pytest.FixtureRequest, model_upstream: ModelUpstream) -> OwuiTarget:
    if request.param == "fake":
        fake: FakeOpenWebUI = request.getfixturevalue("fake_owui")
        return OwuiTarget("fake", fake.url, fake.api_key, model_upstream, fake=fake)
    real: RealOpenWebUI = request.getfixturevalue("real_owui")
    return OwuiTarget("real", real.base_url, real.api_key, model_upstream, real=real)


@pytest.fixture
async def client(owui: OwuiTarget) -> AsyncIterator[OpenWebUIClient]:
    async with OpenWebUIClient(owui.url, owui.api_key, idle_timeout=30) as c:
        yield c


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "bridge.db")
    yield s
    await s.close()


@pytest.fixture
def engine(client: OpenWebUIClient, store: Store) -> Engine:
    return Engine(client, store, EngineConfig(default_model="echo-1", file_process_timeout=60))
