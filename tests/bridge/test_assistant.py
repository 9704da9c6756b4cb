"""What a turn asks OpenWebUI for: prefixes, the model's defaults against a place's switches, the request."""

from __future__ import annotations

import json

from bridge.assistant import Assistance, assistance, read_prefix
from bridge.openwebui import MalformedEvent, Model, ToolCalls
from bridge.openwebui.client import _model, _stream_event


def test_a_search_prefix_asks_for_web_search_and_is_removed() -> None:
    assert read_prefix("!search  what is new in Python?") == read_prefix("!SEARCH what is new in Python?")
    asked = read_prefix("!search what is new in Python?")
    assert (asked.text, asked.features) == ("what is new in Python?", ("web_search",))
    for text in ("!search", "!search   ", "please !search this", "!searching for it", "what is new?"):
        assert read_prefix(text).text == text and read_prefix(text).features == ()


def test_the_models_defaults_apply_unless_switched_and_switches_add() -> None:
    model = Model("m", "m", tool_ids=("vault", "clock"), features=("web_search",))
    used = assistance(model, {"clock": False, "weather": True}, {"memory": True}, ())
    assert used == Assistance(("vault", "weather"), ("web_search", "memory"))
    asked = assistance(model, {}, {"web_search": False}, ("web_search",))
    assert asked.features == ("web_search",), "what a person asks for in a turn wins over a switch"
    assert assistance(None, {}, {"teleport": True}, ()).features == (), "unknown features are never sent"


def test_the_request_asks_for_legacy_calling_only_when_something_is_used() -> None:
    assert Assistance().request() == {}
    assert Assistance(("vault",), ("web_search",)).request() == {
        "params": {"function_calling": "legacy"},
        "tool_ids": ["vault"],
        "features": {"web_search": True},
    }
    assert Assistance(features=("memory",)).request() == {
        "params": {"function_calling": "legacy"},
        "features": {"memory": True},
    }
    # a model's default filters are named, without changing how tools are called
    assert Assistance(filter_ids=("toggled",)).request() == {"filter_ids": ["toggled"]}


def test_the_activity_names_what_was_asked() -> None:
    assert Assistance().activity({}) == ""
    both = Assistance(("vault", "gone"), ("web_search",))
    assert both.activity({"vault": "Vault"}) == "Searching the web… Using tools: Vault, gone…"


def test_a_models_defaults_are_read_as_openwebui_resolves_them() -> None:
    """`defaultFeatureIds` count only with the capability (as `_resolve_model_defaults`); junk is ignored."""
    meta = {
        "toolIds": ["vault", 5, ""],
        "defaultFeatureIds": ["web_search", "image_generation", "teleport"],
        "capabilities": {"web_search": True, "image_generation": False, "teleport": True},
    }
    model = _model({"id": "m", "info": {"meta": meta}})
    assert (model.tool_ids, model.features) == (("vault",), ("web_search",))
    assert _model({"id": "m", "info": {"meta": {"toolIds": "vault"}}}).tool_ids == ()


def test_tool_calls_in_the_stream_are_an_event_of_their_own_never_text() -> None:
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "vault_lookup", "arguments": "{}"}}
    event = {"choices": [{"delta": {"content": None, "tool_calls": [call]}}]}
    assert _stream_event(json.dumps(event).encode()) == ToolCalls(("vault_lookup",))
    more = {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]}
    assert _stream_event(json.dumps(more).encode()) == ToolCalls(())
    odd = {"choices": [{"delta": {"tool_calls": ["vault_lookup"]}}]}
    assert isinstance(_stream_event(json.dumps(odd).encode()), MalformedEvent)
