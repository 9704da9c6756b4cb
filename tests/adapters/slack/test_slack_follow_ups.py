"""Follow-up suggestions on Slack through the real slack-bolt app: OpenWebUI's suggestions become an `actions`
block in a small message under the answer, and a click (`block_actions`) is the clicker's next message in the
conversation, read back from the OpenWebUI chat (so after a restart too), answered once however often Slack
delivers the click; the fake OpenWebUI makes the suggestions with the follow-up task switched on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge import texts
from bridge.control_ids import Action, control_id, follow_up_argument
from bridge.openwebui import chat as chats
from simulators.slack.state import Message
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"
# The fake's suggestions ("More about <first four words>", "Why <them>?"): the first outgrows Slack's 75
# characters of a button, the second fits.
LONG = "Deep Counterrevolutionaries Internationalization Electroencephalograms"
MORE, WHY = f"More about {LONG}", f"Why {LONG}?"


def _buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


async def _after_answers(bridge: SlackBridge) -> None:
    await bridge.settle()
    assert bridge.app is not None
    await extras.after_answers(bridge.app.engine)
    await bridge.settle()


def _chat(bridge: SlackBridge, question: str) -> dict[str, Any]:
    found = [
        chats.readable(stored["chat"]) or {}
        for stored in bridge.owui.chats.values()
        if any(m.get("content") == question for m in stored["chat"]["history"]["messages"].values())
    ]
    assert len(found) == 1
    return found[0]


@pytest.fixture
async def tasks_on(slack_bridge: SlackBridge) -> AsyncIterator[SlackBridge]:
    async with extras.tasks_turned_on(slack_bridge.owui.url, slack_bridge.owui.api_key):
        yield slack_bridge


async def test_suggestions_are_buttons_under_the_answer_and_a_click_asks_once_after_a_restart(
    tasks_on: SlackBridge,
) -> None:
    bridge, sim = tasks_on, tasks_on.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, f"{LONG} please")
    await _after_answers(bridge)
    answer, suggestions = sim.bot_message_records(CHANNEL, posted.ts)
    assert answer.visible_text == f"echo: {LONG} please"
    turn = int(_buttons(answer)[0]["action_id"].rsplit(":", 1)[1])
    buttons = _buttons(suggestions)
    assert [b["text"]["text"] for b in buttons] == [texts.clipped(MORE, 75), WHY]
    assert buttons[0]["text"]["text"].endswith("…") and len(buttons[0]["text"]["text"]) == 75
    ids = [b["action_id"] for b in buttons]
    assert ids == [control_id(Action.FOLLOW_UP, follow_up_argument(turn, i)) for i in (0, 1)]

    await bridge.restart()  # the text is read back from the OpenWebUI chat, not from the process
    click = await sim.user_clicks(CHANNEL, suggestions.ts, BOB, ids[0])
    await bridge.settle()
    sim.deliver_interactive(click.payload)  # the same click once more (a redelivery)
    await bridge.settle()
    first, _, second = sim.bot_message_records(CHANNEL, posted.ts)[:3]
    assert first.ts == answer.ts
    assert second.visible_text == f"{texts.follow_up_heading('bob', MORE)}\necho: {MORE}"
    assert len(bridge.asked(MORE)) == 1, "a click delivered twice is answered once"

    path = chats.chain(_chat(bridge, f"{LONG} please"))
    assert [(m["role"], m["content"]) for m in path] == [
        ("user", f"{LONG} please"),
        ("assistant", f"echo: {LONG} please"),
        ("user", MORE),
        ("assistant", f"echo: {MORE}"),
    ]
    assert path[2]["name"] == "bob", "asked as the person who clicked"


async def test_a_person_the_access_rules_refuse_is_told_privately_and_nothing_is_asked(tasks_on: SlackBridge) -> None:
    bridge, sim = tasks_on, tasks_on.sim
    await bridge.restart(denied_users=[BOB])
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "guarded suggestions")
    await _after_answers(bridge)
    _, suggestions = sim.bot_message_records(CHANNEL, posted.ts)
    await sim.user_clicks(CHANNEL, suggestions.ts, BOB, _buttons(suggestions)[0]["action_id"])
    await bridge.settle()
    assert [e["visible_text"] for e in sim.ephemerals(CHANNEL, BOB)] == [f"⛔ {texts.USER_REFUSED}"]
    assert len(sim.bot_message_records(CHANNEL, posted.ts)) == 2
    assert not bridge.asked("More about guarded")
