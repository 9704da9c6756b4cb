"""OpenWebUI's prompt library and suggested prompts, as the bridge reads them, and the rule that fills a
prompt's variables from a command's text (`bridge/prompts.py`).

The library and a model's suggestions are read alike from the fake and a real OpenWebUI 0.12.4; the contract
half also pins that `/api/config` gives an API key no default suggestions (so the bridge does not ask it).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bridge import prompts
from bridge.errors import UserFacingError
from bridge.openwebui import OpenWebUIClient, Prompt
from simulators.openwebui_server import RealOpenWebUI
from tests import openwebui_extras as extras
from tests.conftest import OwuiTarget

TRANSLATE = Prompt("translate", "Translate", 'Translate into {{language | select:default="German"}}: {{text}}')
NOW = datetime(2026, 12, 4, 22, 40)


def test_pairs_fill_named_variables_and_the_rest_fills_the_one_left() -> None:
    assert prompts.fill(TRANSLATE, 'language="Old French" good morning\nall', "Ada") == (
        "Translate into Old French: good morning\nall"
    )
    assert prompts.fill(TRANSLATE, "guten Tag", "Ada") == "Translate into German: guten Tag", "default kept"


def test_clipboard_takes_the_text_and_the_bridge_fills_system_variables() -> None:
    prompt = Prompt("tldr", "TL;DR", "For {{USER_NAME}} on {{CURRENT_DATE}}, shorten: {{CLIPBOARD}}")
    assert prompts.fill(prompt, "a long text", "Ada", NOW) == "For Ada on 2026-12-04, shorten: a long text"


def test_text_beyond_the_variables_follows_the_prompt() -> None:
    assert prompts.fill(Prompt("hi", "Hi", "Say hi."), "to Bob a=b", "Ada") == "Say hi.\n\nto Bob a=b"


def test_a_missing_or_unknown_variable_is_answered_with_the_usage() -> None:
    two = Prompt("mail", "Mail", "Write to {{to}} about {{topic}}")
    with pytest.raises(UserFacingError, match=r'needs to, topic.*`mail to="…" topic="…"`'):
        prompts.fill(two, "hello", "Ada")
    with pytest.raises(UserFacingError, match="has no variable `subject`"):
        prompts.fill(two, "subject=x to=Bob", "Ada")


def test_a_command_is_found_with_or_without_its_slash() -> None:
    assert prompts.find([TRANSLATE], "/Translate") is TRANSLATE
    with pytest.raises(UserFacingError, match="Prompts: `translate`"):
        prompts.find([TRANSLATE], "nope")


async def test_the_prompt_library_lists_a_created_prompt(owui: OwuiTarget, client: OpenWebUIClient) -> None:
    await extras.create_prompt(client, "greet", "Greet", "Greet {{name}} warmly.")
    [greet] = [p for p in await client.prompts() if p.command == "greet"]
    assert greet == Prompt("greet", "Greet", "Greet {{name}} warmly.")
    assert prompts.fill(greet, "Bob", "Ada") == "Greet Bob warmly."


async def test_a_models_suggested_prompts_are_read(owui: OwuiTarget, client: OpenWebUIClient) -> None:
    meta = {"suggestion_prompts": [{"title": ["Plan", "a trip"], "content": "Plan a trip to Lyon"}, {"content": ""}]}
    model = "echo-1"
    if owui.fake is not None:
        owui.fake.model_meta = {model: meta}
    else:
        model = "suggesting-1"
        await extras.create_model(client, model, "echo-1", meta)
    try:
        [info] = [m for m in await client.models() if m.id == model]
    finally:
        if owui.fake is not None:
            owui.fake.model_meta = {}
    assert info.suggestions == ("Plan a trip to Lyon",)


@pytest.mark.contract
async def test_an_api_key_gets_no_default_suggestions_from_api_config(real_owui: RealOpenWebUI) -> None:
    """0.12.4's `/api/config` decodes its bearer as a session JWT: an `sk-` key is nobody there, and the
    server's default prompt suggestions (set here through the admin API, which the key may use) are left
    out. So the bridge offers a model's own suggestions and its setting, never the server's defaults."""
    suggestions = [{"title": ["Hello", "there"], "content": "Say hello"}]
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        saved = await client.call("POST", "/api/v1/configs/suggestions", json={"suggestions": suggestions})
        config = await client.call("GET", "/api/config")
    assert saved["suggestions"] == suggestions
    assert "default_prompt_suggestions" not in config and config.get("name")
