"""The signed-in path on Slack against a real OpenWebUI 0.12.4, through slack-bolt and the Slack simulator: the
answer streams in from OpenWebUI's socket and OpenWebUI saves it (the failure cases are in the Discord tests;
the path below the adapter is the same)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack.events import PLATFORM
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from bridge.turn_paths import SignedInPath
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import RealOpenWebUI
from simulators.slack import SlackSimulator
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge, fast_config
from tests.conftest import OwuiTarget

pytestmark = pytest.mark.contract

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


@pytest.fixture
async def signed_in(
    real_owui: RealOpenWebUI, model_upstream: ModelUpstream, tmp_path: Path
) -> AsyncIterator[SlackBridge]:
    """A Slack bridge whose service account, a new admin (its own sign-in budget), signs in."""
    account = real_owui.create_user(role="admin")
    assert account.api_key is not None
    target = OwuiTarget("real", real_owui.base_url, account.api_key, model_upstream, real=real_owui)
    async with SlackSimulator(config=fast_config()) as sim:
        bridge = SlackBridge(sim, target, model_upstream, tmp_path / "bridge.db")  # type: ignore[arg-type]
        bridge.sign_in = (account.email, account.password)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


async def test_a_signed_in_turn_streams_into_the_slack_thread_and_openwebui_saves_it(
    signed_in: SlackBridge, real_owui: RealOpenWebUI
) -> None:
    bridge, sim = signed_in, signed_in.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "tell me [[reply:900]][[rate:60]]")
    await bridge.settle(timeout=90)
    [answer] = sim.bot_messages(CHANNEL, posted.ts)
    assert answer == bridge.reply_to("tell me") and len(answer) > 800
    [record] = sim.bot_message_records(CHANNEL, posted.ts)
    assert len(sim.message_history(CHANNEL, record.ts)) >= 3, "the answer grew in several updates"
    assert bridge.app is not None and isinstance(bridge.app.engine.path, SignedInPath)
    chat_id, _ = await bridge.app.core.chat_link(ConversationKey(PLATFORM, sim.team_id, CHANNEL, posted.ts))
    async with OpenWebUIClient(real_owui.base_url, bridge.owui.api_key) as admin:
        chat = (await admin.get_chat(chat_id))["chat"]
    stored = chat["history"]["messages"][chat["history"]["currentId"]]
    assert stored["content"] == answer and isinstance(stored.get("output"), list), "saved by OpenWebUI itself"


async def test_openwebui_s_title_names_the_assistant_thread(signed_in: SlackBridge) -> None:
    """The title OpenWebUI's own pipeline makes, sent over its socket after the answer's end, is the Slack
    assistant thread's title (assistant.threads.setTitle), as on the API-key way."""
    bridge, sim = signed_in, signed_in.sim
    async with extras.tasks_turned_on(bridge.owui.url, bridge.owui.api_key):
        dm = sim.dm_channel(ALICE)
        opened = await sim.user_dm(ALICE, "a first message at the top")
        await sim.user_dm(ALICE, "Bridges over rivers explained please", thread_ts=opened.ts)
        await bridge.settle(timeout=90)
        assert bridge.app is not None
        await extras.after_answers(bridge.app.engine)
    assert sim.thread_titles(dm, opened.ts) == ["About Bridges over rivers explained"]


async def test_openwebui_s_status_is_the_assistant_thread_s_status_until_the_answer(signed_in: SlackBridge) -> None:
    """A status OpenWebUI reports while it works (here a filter's, before the model answers) becomes the
    assistant thread's status, as an API-key turn's activity does, and the answer replaces it."""
    bridge, sim = signed_in, signed_in.sim
    dm = sim.dm_channel(ALICE)
    opened = await sim.user_dm(ALICE, "a first message at the top")
    await bridge.settle(timeout=90)
    async with (
        OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as admin,
        extras.global_filter(admin, "status_slack", extras.STATUS_FILTER),
    ):
        await sim.user_dm(ALICE, "slowly please [[delay:3]]", thread_ts=opened.ts)
        await bridge.settle(timeout=90)
    assert "is consulting the archive" in sim.thread_statuses(dm, opened.ts)
    assert sim.bot_messages(dm, opened.ts)[-1] == bridge.reply_to("slowly please")
