"""Buttons in the simulators as the platforms check them: Discord's message components and Slack's `actions`
blocks are refused when malformed, and a click can only land on a button a message shows."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from simulators.discord import DiscordSimulator, SimUsageError
from simulators.discord.server import BasicWorld
from simulators.slack import SlackSimulator

CHANNEL = "C0GENERAL"


def _row(*buttons: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": 1, "components": list(buttons)}]


def _button(custom_id: str, label: str = "Go") -> dict[str, Any]:
    return {"type": 2, "style": 2, "label": label, "custom_id": custom_id}


async def test_discord_checks_components_and_clicks_only_shown_buttons(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    url = f"{sim.rest_base}/channels/{world.channel.id}/messages"
    headers = {"Authorization": f"Bot {sim.token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for bad in (
            _row(_button("same"), _button("same")),  # duplicate custom_id
            _row(_button("x" * 101)),  # custom_id too long
            _row(*[_button(str(i)) for i in range(6)]),  # six buttons in a row
            _row(_button("long", label="l" * 81)),
        ):
            async with http.post(url, json={"content": "hi", "components": bad}) as refused:
                assert refused.status == 400, bad
        async with http.post(url, json={"content": "hi", "components": _row(_button("a"), _button("b"))}) as ok:
            posted = await ok.json()
        assert [b["custom_id"] for b in posted["components"][0]["components"]] == ["a", "b"]
        async with http.patch(f"{url}/{posted['id']}", json={"content": "edited"}) as kept:
            assert (await kept.json())["components"] == posted["components"], "an edit without components keeps them"
        async with http.patch(f"{url}/{posted['id']}", json={"components": []}) as removed:
            assert (await removed.json())["components"] == []

    message = sim.message(int(posted["id"]))
    with pytest.raises(SimUsageError):
        await sim.user_clicks(message, world.user, "a")  # the buttons were removed


async def test_slack_checks_actions_blocks_and_clicks_only_shown_buttons(slack_sim: SlackSimulator) -> None:
    client = AsyncWebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url)
    slack_sim.config.rate_limits.clear()  # refused calls count against the budget too; not the point here

    def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "actions", "elements": list(elements)}]

    def button(action_id: str, label: str = "Go") -> dict[str, Any]:
        return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id}

    for bad in (
        actions(),
        actions(button("same"), button("same")),
        actions(button("x" * 256)),
        actions(button("long", label="l" * 76)),
        actions({"type": "button", "text": {"type": "mrkdwn", "text": "*no*"}, "action_id": "md"}),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel=CHANNEL, text="fb", blocks=bad)
        assert refused.value.response["error"] == "invalid_blocks", bad
    posted = await client.chat_postMessage(channel=CHANNEL, text="fb", blocks=actions(button("a"), button("b")))
    assert slack_sim.message(CHANNEL, posted["ts"]) is not None
    with pytest.raises(ValueError):
        await slack_sim.user_clicks(CHANNEL, posted["ts"], "U0ALICE", "c")
    delivery = await slack_sim.user_clicks(CHANNEL, posted["ts"], "U0ALICE", "b")
    assert delivery.payload["type"] == "block_actions" and delivery.payload["actions"][0]["action_id"] == "b"
    assert delivery.payload["container"]["message_ts"] == posted["ts"]
