"""The fake Slack's assistant surfaces against the real slack_sdk client: `assistant.threads.*` with their
scope, arguments and Tier 3 limits, and the assistant thread a user opens."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from simulators.slack import SlackSimulator
from simulators.slack.assistant import ROOT_TEXT, open_assistant_thread

PROMPT = {"title": "Hi", "message": "Say hi"}


async def test_prompts_and_titles_are_kept_and_checked(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    thread = open_assistant_thread(slack_sim, "U0ALICE", viewing="C0GENERAL")
    root = slack_sim.message(thread.channel, thread.thread_ts)
    assert root is not None and root.subtype == "assistant_app_thread" and root.text == ROOT_TEXT
    event = thread.deliveries[0].payload["event"]
    assert event["type"] == "assistant_thread_started"
    assert event["assistant_thread"]["context"]["channel_id"] == "C0GENERAL"
    where = {"channel_id": thread.channel, "thread_ts": thread.thread_ts}
    await slack_sim_client.assistant_threads_setSuggestedPrompts(**where, prompts=[PROMPT])
    await slack_sim_client.assistant_threads_setTitle(**where, title="A title")
    key = (thread.channel, thread.thread_ts)
    assert slack_sim.assistant.threads.prompts[key][0]["prompts"] == [PROMPT]
    assert slack_sim.assistant.threads.titles[key] == ["A title"]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await slack_sim_client.assistant_threads_setSuggestedPrompts(**where, prompts=[PROMPT] * 5)


async def test_the_methods_need_the_scope_and_keep_tier_3(
    slack_sim: SlackSimulator, slack_sim_client: AsyncWebClient
) -> None:
    thread = open_assistant_thread(slack_sim, "U0ALICE")
    where = {"channel_id": thread.channel, "thread_ts": thread.thread_ts}
    for _ in range(5):  # the burst
        await slack_sim_client.assistant_threads_setTitle(**where, title="t")
    with pytest.raises(SlackApiError) as refused:
        await slack_sim_client.assistant_threads_setTitle(**where, title="t")
    assert refused.value.response.status_code == 429
    slack_sim.set_bot_scopes({"chat:write"})
    with pytest.raises(SlackApiError, match="missing_scope"):
        await slack_sim_client.assistant_threads_setSuggestedPrompts(**where, prompts=[PROMPT])
