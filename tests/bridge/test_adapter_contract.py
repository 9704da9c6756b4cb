"""The adapter contract: a platform found through the registry runs a turn end to end through the facade,
and the seams hold (the core imports no adapter; adapters reach nothing behind the facade)."""

from __future__ import annotations

import ast
import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from bridge.adapter import ENTRY_POINT_GROUP, Platform, platforms, register, unregister
from bridge.app import open_app
from bridge.core import Core
from bridge.messages import ConversationKey, IncomingMessage, InterruptedTurn
from bridge.outcomes import TurnOutcome
from bridge.runner import serve
from bridge.settings import PlatformSettings, load_settings
from simulators.openwebui_fake import FakeOpenWebUI
from tests.surfaces import RecordingSurface

ROOT = Path(__file__).resolve().parents[2]


class ToySettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="TOY_")

    channel: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.channel)


class ToyAdapter:
    """A platform in a dozen lines: one question on start, its answer recorded, crashes marked."""

    def __init__(self, core: Core, settings: ToySettings) -> None:
        self.core = core
        self.key = ConversationKey("toy", "", settings.channel)
        self.surface = RecordingSurface()
        self.answered: asyncio.Future[TurnOutcome] = asyncio.get_running_loop().create_future()
        self.marked: list[tuple[InterruptedTurn, str]] = []
        self.stopped_with: float | None = None
        self._asking: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._asking = asyncio.create_task(self._ask())

    async def _ask(self) -> None:
        message = IncomingMessage(self.key, uuid.uuid4().hex, "u1", "Toy User", "hello toy")
        self.answered.set_result(await self.core.handle(message, self.surface))

    def ready(self) -> bool:
        return self._asking is not None

    async def wait_closed(self) -> None:
        await asyncio.Event().wait()

    async def stop(self, grace: float) -> None:
        self.stopped_with = grace

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        self.marked.append((turn, note))
        return ["half of the"]


TOY = Platform("toy", ToySettings, ToyAdapter)


@pytest.fixture
def toy_registered():  # type: ignore[no-untyped-def]
    register(TOY)
    yield TOY
    unregister("toy")


def test_the_installed_platforms_come_from_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"console", "discord", "slack"} <= names
    assert {"console", "discord", "slack"} <= set(platforms())


async def test_a_registered_platform_runs_a_turn_through_the_facade(
    toy_registered: Platform, fake_owui: FakeOpenWebUI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOY_CHANNEL", "c-" + uuid.uuid4().hex[:6])
    monkeypatch.setenv("OPENWEBUI_URL", fake_owui.url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", fake_owui.api_key)
    monkeypatch.setenv("OPENWEBUI_DEFAULT_MODEL", "echo-1")
    monkeypatch.setenv("BRIDGE_DATA_DIR", str(tmp_path))
    found = platforms()["toy"]
    settings = load_settings(None, platforms={name: p.settings for name, p in platforms().items()})
    enabled = [name for name, section in settings.platforms.items() if section.enabled]
    assert enabled == ["toy"]  # only the toy's settings are present here

    stop = asyncio.Event()
    async with open_app(settings) as app:
        # what an earlier process left: a turn begun on this platform and never finished
        old = await app.store.start_conversation(ConversationKey("toy", "", "older"), "chat-gone")
        await app.store.begin_turn(old, "ev-crash", "u-crash", "a-crash", None, "echo-1")
        adapter = found.create(app.core, settings.platforms["toy"])
        assert isinstance(adapter, ToyAdapter)
        running = asyncio.create_task(serve(app, {"toy": adapter}, stop))
        outcome = await asyncio.wait_for(adapter.answered, 10)
        stop.set()
        await asyncio.wait_for(running, 10)
        chat = (await app.client.get_chat(outcome.chat_id))["chat"]  # the same conversation, in OpenWebUI

    assert outcome.status == "answered"
    assert adapter.surface.visible(outcome.message_ids) == "echo: hello toy"
    assert [m["content"] for m in chat["messages"]] == ["hello toy", "echo: hello toy"]
    assert [(turn.key.channel, note) for turn, note in adapter.marked] == [
        ("older", "⚠️ The answer was interrupted because the bridge restarted; send your message again.")
    ]
    assert adapter.stopped_with is not None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_no_platform_and_adapters_only_the_facade() -> None:
    crossing = []
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in ("adapters", "discord", "slack_sdk", "slack_bolt"):
                crossing.append(f"{path.relative_to(ROOT)} imports {name}")
    for path in sorted((ROOT / "adapters").rglob("*.py")):
        for name in _imports(path):
            if name.startswith(("bridge.store", "bridge.openwebui", "bridge.engine", "bridge.catalog", "bridge.app")):
                crossing.append(f"{path.relative_to(ROOT)} imports {name}")
    assert crossing == []
