"""The Slack surface's use of the scarce budgets, driven through a real `AsyncWebClient` against the
simulator: the grant kept for a final text, the end that goes on in a new message when none is left (posted
or streamed), routine grants handed to the reply shown longest ago, and stops that do not hold a turn."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets
from adapters.slack.place import ReplyPlace
from adapters.slack.surface import SlackReplySurface
from adapters.slack.updates import PostAndUpdate, Shown
from bridge.pacing import RateBudget
from bridge.surface import EditDeferred, Grant
from simulators.slack import SlackSimulator

ALICE = "U0ALICE"


async def _place(sim: SlackSimulator, client: AsyncWebClient) -> ReplyPlace:
    question = await client.chat_postMessage(channel="C0GENERAL", text="a question")
    return ReplyPlace(sim.team_id, "C0GENERAL", str(question["ts"]), ALICE)


async def _reply(
    sim: SlackSimulator, client: AsyncWebClient, budgets: WorkspaceBudgets, *, streaming: bool = False
) -> SlackReplySurface:
    return SlackReplySurface(client, budgets, await _place(sim, client), native_streaming=streaming)


async def test_a_final_addition_takes_the_kept_grant_then_goes_on_in_a_new_message(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    # a whole burst: once the kept grant is spent, the next is a whole refill (1.2 s) away
    budgets = WorkspaceBudgets(update=RateBudget(rate=50 / 60, capacity=4, reserve=1))
    surface = await _reply(slack_sim, slack_sim_client, budgets)
    ts = await surface.post("The quick ", await surface.pace("post", False))
    while budgets.update.try_acquire():  # other replies spend every routine grant
        pass
    await surface.edit(ts, "The quick brown ", await surface.pace("edit", True))  # the grant kept for a final
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick brown "  # type: ignore[union-attr]

    with pytest.raises(EditDeferred):  # chat.update is a refill away; a post is free now
        await surface.edit(ts, "The quick brown fox.", await surface.pace("edit", True))
    await surface.edit(ts, "The quick", await surface.pace("edit", True))  # not an addition: never deferred, it waits
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick"  # type: ignore[union-attr]
    assert slack_sim.count_429() == 0


@pytest.mark.parametrize("streaming", [False, True], ids=["update", "append"])
async def test_a_routine_edit_spends_the_grant_it_waited_for(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient, streaming: bool
) -> None:
    """`pace` takes a routine edit's grant before the text is picked, and the edit uses that one: a second
    grant would halve the scarce budget's edits."""
    budgets = WorkspaceBudgets()
    surface = await _reply(slack_sim, slack_sim_client, budgets, streaming=streaming)
    ts = await surface.post("The quick ", await surface.pace("post", False))
    before = (budgets.append.granted, budgets.update.granted)
    grant = await surface.pace("edit", False)
    await surface.edit(ts, "The quick brown ", grant)
    spent = (budgets.append.granted - before[0], budgets.update.granted - before[1])
    assert spent == ((1, 0) if streaming else (0, 1)), "(chat.appendStream, chat.update) grants"
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick brown "  # type: ignore[union-attr]


async def test_routine_grants_go_to_the_reply_shown_longest_ago(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    budgets = WorkspaceBudgets()
    older, newer = [await _reply(slack_sim, slack_sim_client, budgets) for _ in range(2)]
    await older.post("shown first ", await older.pace("post", False))
    await asyncio.sleep(0.01)
    await newer.post("shown later ", await newer.pace("post", False))
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


async def test_a_routine_update_without_a_grant_is_owed_until_the_reply_moves_on(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    """A routine update whose grant is not for chat.update (its message was a stream Slack closed since
    it paced) does not wait for one: its text is owed, and shown when the reply moves on or closes."""
    budgets = WorkspaceBudgets()
    updates = PostAndUpdate(slack_sim_client, budgets, await _place(slack_sim, slack_sim_client))
    ts = await updates.post("The quick ", urgent=False)
    message = Shown("The quick ")
    while budgets.update.try_acquire():
        pass
    await asyncio.wait_for(updates.edit(ts, message, "The quick brown ", Grant("edit", False, budgets.append)), 0.5)
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick "  # type: ignore[union-attr]
    await updates.settle({ts: message})
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick brown "  # type: ignore[union-attr]
    assert message.owed is None


async def test_a_streamed_final_addition_goes_on_in_a_new_message_when_appends_are_spent(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    """Streams that finish together wait for `chat.appendStream` one by one; an end that would wait while
    posting has room goes on in a new message, as a posted reply's does."""
    # a whole burst: once every grant is spent, the next is a whole refill (0.6 s) away
    budgets = WorkspaceBudgets(append=RateBudget(rate=100 / 60, capacity=9, reserve=1))
    surface = await _reply(slack_sim, slack_sim_client, budgets, streaming=True)
    ts = await surface.post("The quick ", await surface.pace("post", False))
    assert slack_sim.calls("chat.startStream")
    while budgets.append.try_acquire(urgent=True):  # other streams' ends took every grant, the kept one too
        pass
    with pytest.raises(EditDeferred):
        await asyncio.wait_for(surface.edit(ts, "The quick brown fox.", await surface.pace("edit", True)), 5)
    assert slack_sim.message("C0GENERAL", ts).visible_text == "The quick "  # type: ignore[union-attr]
    assert not slack_sim.calls("chat.appendStream")


async def test_closing_a_streamed_reply_does_not_wait_for_the_stop_budget(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    """`chat.stopStream` has about 20 a minute for the workspace: replies that finish together would wait
    for it one by one, with their turns still open. The stop goes to the adapter's background work."""
    budgets = WorkspaceBudgets()
    spawned: list[asyncio.Task[None]] = []
    place = await _place(slack_sim, slack_sim_client)
    surface = SlackReplySurface(
        slack_sim_client, budgets, place, spawn=lambda work, name: spawned.append(asyncio.create_task(work))
    )
    ts = await surface.post("The whole answer.", await surface.pace("post", False))
    while budgets.stop.try_acquire(urgent=True):  # other replies' stops took the budget
        pass
    await asyncio.wait_for(surface.close(), 0.5)
    assert not slack_sim.calls("chat.stopStream"), "not stopped yet: its budget refills in about 3 s"
    [stopping] = spawned
    await asyncio.wait_for(stopping, 10)
    [stop] = slack_sim.calls("chat.stopStream")
    assert stop.params["ts"] == ts and stop.error is None
