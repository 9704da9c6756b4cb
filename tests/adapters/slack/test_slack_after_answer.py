"""After an answer on Slack: an assistant thread (a thread of the app's DM) takes its chat's OpenWebUI title
through assistant.threads.setTitle, other threads get none, and files an answer produced are uploaded in its
thread the way slack_sdk's `files_upload_v2` does (files.getUploadURLExternal, the bytes,
files.completeUploadExternal)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bridge.openwebui import OpenWebUIClient
from simulators.model_upstream import TINY_PNG
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
QUESTION = "Bridges over rivers explained please"


async def after_answers(bridge: SlackBridge) -> None:
    assert bridge.app is not None
    await extras.after_answers(bridge.app.engine)


@pytest.fixture
async def tasks_on(slack_bridge: SlackBridge) -> AsyncIterator[SlackBridge]:
    async with extras.tasks_turned_on(slack_bridge.owui.url, slack_bridge.owui.api_key):
        yield slack_bridge


async def test_an_assistant_thread_takes_its_chat_title(tasks_on: SlackBridge) -> None:
    bridge, sim = tasks_on, tasks_on.sim
    dm = sim.dm_channel(ALICE)
    opened = await sim.user_dm(ALICE, "a first message at the top")
    thread = await sim.user_dm(ALICE, QUESTION, thread_ts=opened.ts)
    await bridge.settle()
    await after_answers(bridge)
    assert sim.thread_titles(dm, opened.ts) == ["About Bridges over rivers explained"]
    assert sim.bot_messages(dm, opened.ts) == [bridge.reply_to(QUESTION), ""]  # and the follow-ups' buttons
    assert thread.ts != opened.ts
    assert [c.params["channel_id"] for c in sim.calls("assistant.threads.setTitle")] == [dm]


async def test_a_channel_thread_and_a_dm_top_level_get_no_title(tasks_on: SlackBridge) -> None:
    bridge, sim = tasks_on, tasks_on.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, QUESTION)
    await sim.user_dm(ALICE, "Top level talk here")
    await bridge.settle()
    await after_answers(bridge)
    assert sim.bot_messages(CHANNEL, posted.ts) == [bridge.reply_to(QUESTION), ""]  # and the follow-ups' buttons
    assert sim.calls("assistant.threads.setTitle") == []


async def test_pictures_an_answer_carries_are_uploaded_in_its_thread(slack_bridge: SlackBridge) -> None:
    bridge, sim = slack_bridge, slack_bridge.sim
    picture = base64.b64encode(TINY_PNG).decode()
    reply = bridge.upstream.script(f"Here it is: ![red square](data:image/png;base64,{picture})")
    posted = await sim.user_mentions_app(CHANNEL, ALICE, f"draw it {reply}")
    await bridge.settle()
    [answer, upload] = sim.bot_message_records(CHANNEL, posted.ts)
    assert answer.visible_text.startswith("Here it is:")
    [shared] = upload.files
    assert shared["name"] == "red square.png"
    assert sim.ws.files[shared["id"]].content == TINY_PNG
    assert [c.method for c in sim.calls() if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


@pytest.mark.contract
async def test_a_real_openwebui_picture_arrives_in_the_slack_thread(slack_bridge_on_real_owui: SlackBridge) -> None:
    """A picture OpenWebUI 0.12.4 stores (a file the model links), downloaded with the API key and uploaded."""
    bridge, sim = slack_bridge_on_real_owui, slack_bridge_on_real_owui.sim
    async with OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as client:
        uploaded = await client.upload_file("chart.png", TINY_PNG, "image/png")
    reply = bridge.upstream.script(f"The chart: ![chart](/api/v1/files/{uploaded.id}/content)")
    posted = await sim.user_mentions_app(CHANNEL, ALICE, f"show the chart {reply}")
    await bridge.settle(60)
    [answer, upload] = sim.bot_message_records(CHANNEL, posted.ts)
    assert answer.visible_text.startswith("The chart:")
    [shared] = upload.files
    assert shared["name"] == "chart.png" and sim.ws.files[shared["id"]].content == TINY_PNG
