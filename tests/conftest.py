"""Shared fixtures: a deterministic model upstream and OpenWebUI, fake (fast) or real (contract).

The `owui` fixture is parametrized: a test that takes it runs against the in-process fake and, as part
of the contract suite, against a real OpenWebUI 0.12.4, so the fake cannot drift from the real server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from bridge.app import App, build
from bridge.engine import Engine
from bridge.openwebui import OpenWebUIClient
from bridge.settings import BridgeSettings, IdentitySettings, OpenWebUISettings, PlatformSettings, Settings
from bridge.store import Store
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.openwebui_server import OpenWebUIUnavailable, RealOpenWebUI, executable
from simulators.postgres_server import PostgresUnavailable, RealPostgres
from simulators.redis_server import RealRedis, RedisUnavailable
from simulators.threaded import serve_in_thread

pytest_plugins = ["simulators.discord.pytest_plugin", "simulators.slack.pytest_plugin"]


@dataclass(frozen=True)
class OwuiTarget:
    """Where a test's OpenWebUI is: `kind` is "fake" or "real"."""

    kind: str
    url: str
    api_key: str
    upstream: ModelUpstream
    fake: FakeOpenWebUI | None = None
    real: RealOpenWebUI | None = None


def pytest_configure(config: pytest.Config) -> None:
    """CI must run the contract suite: a skip there would let a fake that drifted from OpenWebUI pass."""
    if os.environ.get("CI") == "true" and os.environ.get("BRIDGE_SKIP_CONTRACT"):
        raise pytest.UsageError(
            "BRIDGE_SKIP_CONTRACT is refused in CI (CI=true): the contract tests must run against a real "
            "OpenWebUI; .ci/run installs it with scripts/install-openwebui.sh."
        )


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
def vault(fake_owui: FakeOpenWebUI) -> Iterator[FakeOpenWebUI]:
    """The fake offers the tool `vault` (the real server lists a tool created through its API so:
    tests/bridge/test_tools_and_features.py)."""
    fake_owui.tools = [{"id": "vault", "name": "Vault", "meta": {"description": "Vault"}}]
    yield fake_owui
    fake_owui.tools = []


@pytest.fixture
async def client(owui: OwuiTarget) -> AsyncIterator[OpenWebUIClient]:
    async with OpenWebUIClient(owui.url, owui.api_key, idle_timeout=30) as c:
        yield c


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "bridge.db")
    yield s
    await s.close()


Server = TypeVar("Server", RealPostgres, RealRedis)


def _started(server: Server, unavailable: type[Exception]) -> Server:
    """The server started; without it installed, the test is skipped, except in CI (`CI=true`), where a skip
    would hide a backend."""
    try:
        return server.start()
    except unavailable as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres() -> Iterator[RealPostgres]:
    """One real PostgreSQL server for the session; each test takes a database of its own from it
    (`postgres.create_database()`)."""
    server = _started(RealPostgres(), PostgresUnavailable)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RealRedis]:
    """One real Redis server for the session; each test takes a database number of its own
    (`redis_server.new_url()`)."""
    server = _started(RealRedis(), RedisUnavailable)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """What `Store.open` takes, once per backend: an SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "bridge.db"
    return request.getfixturevalue("postgres").create_database()


def core_settings(
    url: str,
    api_key: str,
    *,
    platforms: dict[str, PlatformSettings] | None = None,
    identity: dict[str, Any] | None = None,
    sign_in: tuple[str, str] | None = None,
    trusted_email_header: str = "",
    **bridge: Any,
) -> Settings:
    """Settings as a test bridge has them: the default model `echo-1`, nothing read from the environment;
    `identity` holds `IdentitySettings` fields (the policy, the encryption key, `link_by_email`, whose
    header is `trusted_email_header`); `sign_in` (email, password) turns the signed-in path on."""
    email, password = sign_in or ("", "")
    return Settings(
        OpenWebUISettings(
            _env_file=None,  # type: ignore[call-arg]
            url=url,
            api_key=SecretStr(api_key),
            default_model="echo-1",
            file_process_timeout=60,
            email=email,
            password=SecretStr(password),
            trusted_email_header=trusted_email_header,
        ),
        BridgeSettings(_env_file=None, **bridge),  # type: ignore[call-arg]
        platforms or {},
        IdentitySettings(_env_file=None, **(identity or {})),  # type: ignore[call-arg]
    )


def make_app(client: OpenWebUIClient, store: Store, **bridge: Any) -> App:
    """The process's parts over an open client and store (`BridgeSettings` fields as keywords)."""
    return build(core_settings(client.base_url, "", **bridge), client, store)


@pytest.fixture
def engine(client: OpenWebUIClient, store: Store) -> Engine:
    return make_app(client, store).engine
