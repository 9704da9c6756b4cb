"""Tools and features with an API key: what a turn asks OpenWebUI for, and what the person sees.

The contract half pins on a real OpenWebUI 0.12.4 the facts the bridge is built on (`bridge/assistant.py`):
in pass-through mode a request's tools are only run under legacy function calling; web search likewise; a
filter function changes the answer; the model's own tools (`meta.toolIds`) apply without being named.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bridge import texts
from bridge.engine import Engine
from bridge.openwebui import OpenWebUIClient, Sources, TextDelta, ToolCalls
from bridge.store import Store
from simulators.openwebui_server import RealOpenWebUI
from simulators.search_engine import Page, SearchEngine
from tests import openwebui_extras as extras
from tests.conftest import OwuiTarget, make_app
from tests.messages import key, message
from tests.surfaces import RecordingSurface

RELEASE = Page("https://docs.example.test/release", "Release notes", "The release is called MARKER-web1.")


@pytest.fixture(scope="module")
def search_engine() -> Iterator[SearchEngine]:
    engine = SearchEngine()
    engine.pages = [RELEASE]
    with engine.running_in_thread():
        yield engine


@pytest.fixture
async def equipped(owui: OwuiTarget, client: OpenWebUIClient) -> AsyncIterator[OwuiTarget]:
    """The tool `vault` and the model `tools-1` over `echo-1` with it as its default tool: created through
    the real server's admin API, planted in the fake the way the real one then lists them."""
    if owui.fake is not None:
        owui.fake.tools = [{"id": "vault", "name": "Vault", "meta": {"description": "Vault"}}]
        owui.fake.model_meta = {"echo-1": {"toolIds": ["vault"]}}
        yield owui
        owui.fake.tools, owui.fake.model_meta = [], {}
        return
    await extras.create_tool(client, "vault", "Vault", extras.VAULT_TOOL)
    await extras.create_model(client, "tools-1", "echo-1", {"toolIds": ["vault"]})
    yield owui


@pytest.fixture
async def real_client(real_owui: RealOpenWebUI) -> AsyncIterator[OpenWebUIClient]:
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key, idle_timeout=30) as client:
        yield client


@pytest.fixture
def real_engine(real_client: OpenWebUIClient, store: Store) -> Engine:
    return make_app(real_client, store).engine


def tools_model(owui: OwuiTarget) -> str:
    """The model whose default tool is `vault`: the fake marks `echo-1` itself."""
    return "echo-1" if owui.fake is not None else "tools-1"


async def test_the_tool_list_and_a_models_default_tools_read_alike(
    equipped: OwuiTarget, client: OpenWebUIClient
) -> None:
    tools = {tool.id: tool.name for tool in await client.tools()}
    assert tools["vault"] == "Vault"
    [model] = [m for m in await client.models() if m.id == tools_model(equipped)]
    assert model.tool_ids == ("vault",)


async def test_a_turn_carries_the_models_tools_with_legacy_calling_and_shows_them_first(
    equipped: OwuiTarget, engine: Engine, client: OpenWebUIClient
) -> None:
    surface = RecordingSurface()
    turn = message(key(), "use vault_lookup to find the code word", model=tools_model(equipped))
    outcome = await engine.handle(turn, surface)
    assert outcome.status == "answered", outcome.error
    assert surface.activities == ["Using tools: Vault…"]
    if equipped.fake is not None:
        body = equipped.fake.completions[-1]
        assert body["tool_ids"] == ["vault"] and body["params"] == {"function_calling": "legacy"}
        return
    # the real server ran the tool before the completion: its result is in the answer and its source named
    answer = "echo: use vault_lookup to find the code word [markers: MARKER-tool1]"
    assert surface.visible(outcome.message_ids) == answer
    assert [source.name for source in outcome.sources] == ["vault/vault_lookup"]
    stored = (await client.get_chat(outcome.chat_id))["chat"]["history"]
    saved = stored["messages"][stored["currentId"]]
    assert saved["content"] == answer and saved["sources"][0]["tool_result"] is True


async def test_a_plain_turn_asks_for_nothing_more(owui: OwuiTarget, engine: Engine) -> None:
    """No tools, no features: today's request, untouched (no legacy calling forced on every chat)."""
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "just chatting"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.activities == []
    if owui.fake is not None:
        assert not {"tool_ids", "features", "params"} & set(owui.fake.completions[-1])


async def test_an_answer_of_tool_calls_only_is_named_never_shown_raw(
    owui: OwuiTarget, engine: Engine, client: OpenWebUIClient
) -> None:
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "call it [[tool-call:vault_lookup]]"), surface)
    assert outcome.status == "answered", outcome.error
    shown = surface.visible(outcome.message_ids)
    assert shown == texts.tools_not_run(["vault_lookup"])
    assert "tool_calls" not in shown and "arguments" not in shown
    stored = (await client.get_chat(outcome.chat_id))["chat"]["history"]
    assert stored["messages"][stored["currentId"]]["content"] == shown


async def test_a_search_prefix_asks_for_web_search_in_that_turn_only(
    owui: OwuiTarget, engine: Engine, client: OpenWebUIClient, store: Store
) -> None:
    k = key()
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "!search what is the release called?"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.activities == ["Searching the web…"]
    chat = await client.get_chat(outcome.chat_id)
    assert chat["title"] == "what is the release called?", "the prefix is not part of the chat's title"
    stored = chat["chat"]["history"]["messages"]
    assert [m["content"] for m in stored.values() if m["role"] == "user"] == ["what is the release called?"]
    later = RecordingSurface()
    await engine.handle(message(k, "and without it"), later)
    assert later.activities == []
    if owui.fake is not None:
        first, second = owui.fake.completions[-2:]
        assert first["features"] == {"web_search": True} and first["params"] == {"function_calling": "legacy"}
        assert "features" not in second


# --- pinned on the real server ---------------------------------------------------------------------


@pytest.mark.contract
async def test_pass_through_runs_tools_only_under_legacy_function_calling(real_client: OpenWebUIClient) -> None:
    """0.12.4's default (native) calling hands the model's `tool_calls` back unexecuted; legacy runs the tool
    first and sends its result as a `sources` event (`tool_result: true`) before the answer."""
    client = real_client
    await extras.create_tool(client, "vault", "Vault", extras.VAULT_TOOL)
    messages = [{"role": "user", "content": "use vault_lookup to find the code word"}]
    native = [e async for e in client.stream({"model": "echo-1", "messages": messages, "tool_ids": ["vault"]})]
    assert native == [ToolCalls(("vault_lookup",))]
    legacy_body = {
        "model": "echo-1",
        "messages": messages,
        "tool_ids": ["vault"],
        "params": {"function_calling": "legacy"},
    }
    legacy = [e async for e in client.stream(legacy_body)]
    assert isinstance(legacy[0], Sources) and legacy[0].items[0]["tool_result"] is True
    assert "".join(e.text for e in legacy if isinstance(e, TextDelta)).endswith("[markers: MARKER-tool1]")


@pytest.mark.contract
async def test_web_search_runs_under_legacy_calling_and_names_its_pages(
    real_client: OpenWebUIClient, real_engine: Engine, search_engine: SearchEngine
) -> None:
    client, engine = real_client, real_engine
    await extras.use_search_engine(client, search_engine.query_url)
    messages = [{"role": "user", "content": "what is the release called?"}]
    native = [
        e async for e in client.stream({"model": "echo-1", "messages": messages, "features": {"web_search": True}})
    ]
    assert not any(isinstance(e, Sources) for e in native), "native calling: no search for an API key"

    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "!search what is the release called?"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.visible(outcome.message_ids) == "echo: what is the release called? [markers: MARKER-web1]"
    assert [(s.name, s.url) for s in outcome.sources] == [("Release notes", RELEASE.url)]
    assert search_engine.queries[-1] == "what is the release called?"


@pytest.mark.contract
async def test_a_toggleable_filter_runs_when_the_model_has_it_on_by_default(
    real_client: OpenWebUIClient, real_engine: Engine
) -> None:
    """As in the web UI: a model's `defaultFilterIds` name the toggleable filters switched on for its chats;
    one the model offers but does not switch on stays off."""
    client, engine = real_client, real_engine
    await extras.create_filter(client, "toggled", extras.TOGGLE_FILTER)
    offered = {"filterIds": ["toggled"]}
    await extras.create_model(client, "toggled-on", "echo-1", {**offered, "defaultFilterIds": ["toggled"]})
    await extras.create_model(client, "toggled-off", "echo-1", offered)
    on, off = RecordingSurface(), RecordingSurface()
    answered_on = await engine.handle(message(key(), "stamp me", model="toggled-on"), on)
    answered_off = await engine.handle(message(key(), "leave me", model="toggled-off"), off)
    assert on.visible(answered_on.message_ids) == "echo: stamp me MARKER-toggle1 [markers: MARKER-toggle1]"
    assert off.visible(answered_off.message_ids) == "echo: leave me"


@pytest.mark.contract
async def test_a_filter_function_changes_the_answer(real_client: OpenWebUIClient, real_engine: Engine) -> None:
    client, engine = real_client, real_engine
    await extras.create_filter(client, "stamp", extras.STAMP_FILTER)
    await extras.create_model(client, "filtered-1", "echo-1", {"filterIds": ["stamp"]})
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "hello filter", model="filtered-1"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.visible(outcome.message_ids) == "echo: hello filter MARKER-filter1 [markers: MARKER-filter1]"
