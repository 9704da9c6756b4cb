"""The Slack surface's use of the scarce `chat.update` budget, driven through a real `AsyncWebClient`
against the simulator: the grant kept for a final text, the end that goes on in a new message when none
is left, and routine grants handed to the reply shown longest ago."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets
from adapters.slack.surface import ReplyPlace, SlackReplySurface
from bridge.surface import EditDeferred
from simulators.slack import SlackSimulator

ALICE = "U0ALICE"


async def _reply(sim: SlackSimulator, client: AsyncWebClient, budgets: WorkspaceBudgets) -> SlackReplySurface:
    question = await client.chat_postMessage(channel="C0GENERAL", text="a question")
    place = ReplyPlace(sim.team_id, "C0GENERAL", str(question["ts"]), ALICE)
    return SlackReplySurface(client, budgets, place, native_streaming=False)


async def test_a_final_addition_takes_the_kept_grant_then_goes_on_in_a_new_message(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    budgets = WorkspaceBudgets()
    surface = await _reply(slack_sim, slack_sim_client, budgets)
    await surface.pace("post", False)
    ts = await surface.post("The quick ")
    while budgets.update.try_acquire():  # other replies spend every routine grant
        pass
    await surface.pace("edit", True)
    await surface.edit(ts, "The quick brown ")  # the grant kept back from routine edits
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick brown "  # type: ignore[union-attr]

    await surface.pace("edit", True)
    with pytest.raises(EditDeferred):  # chat.update is a refill away; a post is free now
        await surface.edit(ts, "The quick brown fox.")
    await surface.pace("edit", True)
    await surface.edit(ts, "The quick")  # a text that is not an addition is never deferred: it waits
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick"  # type: ignore[union-attr]
    assert slack_sim.count_429() == 0


async def test_routine_grants_go_to_the_reply_shown_longest_ago(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    budgets = WorkspaceBudgets()
    older, newer = [await _reply(slack_sim, slack_sim_client, budgets) for _ in range(2)]
    await older.post("shown first ")
    await asyncio.sleep(0.01)
    await newer.post("shown later ")
    while budgets.update.try_acquire():
        pass
    granted: list[str] = []

    async def routine(name: str, surface: SlackReplySurface) -> None:
        await surface.pace("edit", False)
        granted.append(name)

    waiting = [asyncio.create_task(routine("newer", newer))]
    await asyncio.sleep(0.05)  # the newer reply asks first...
    waiting.append(asyncio.create_task(routine("older", older)))
    await asyncio.wait(waiting, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert granted == ["older"]  # ...but the one whose text is older gets the next grant
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
