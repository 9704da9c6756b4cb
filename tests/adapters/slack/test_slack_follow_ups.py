"""Follow-up suggestions on Slack through the real slack-bolt app: OpenWebUI's suggestions become an `actions`
block in a small message under the answer, and a click (`block_actions`) is the clicker's next message in the
conversation, read back from the OpenWebUI chat (so after a restart too), answered once however often Slack
delivers the click; the fake OpenWebUI makes the suggestions with the follow-up task switched on."""

from __future__ import annotations

from typing import Any

import pytest

from bridge import texts
from bridge.control_ids import Action, control_id, follow_up_argument
from bridge.openwebui import chat as chats
from simulators.slack.state import Message
from tests.adapters.slack.conftest import SlackBridge
from tests.adapters.slack.test_slack_after_answer import after_answers, tasks_on  # noqa: F401 (tasks_on: a fixture)

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"
# The fake's suggestions ("More about <first four words>", "Why <them>?"): the first outgrows Slack's 75
# characters of a button, the second fits.
LONG = "Wide Counterrevolutionaries Internationalization Electroencephalograms"
MORE, WHY = f"More about {LONG}", f"Why {LONG}?"


def _buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


async def _answered(bridge: SlackBridge, text: str) -> tuple[str, Message]:
    """Alice asks `text` in the channel, and the answer and the work after it are done: (her message's ts,
    the message of the answer's suggestions)."""
    posted = await bridge.sim.user_mentions_app(CHANNEL, ALICE, text)
    await bridge.settle()
    await after_answers(bridge)
    answer, suggestions = bridge.sim.bot_message_records(CHANNEL, posted.ts)
    assert answer.visible_text == f"echo: {text}"
    return posted.ts, suggestions


@pytest.mark.usefixtures("tasks_on")
async def test_suggestions_are_buttons_under_the_answer_and_a_click_asks_once_after_a_restart(
    slack_bridge: SlackBridge,
) -> None:
    bridge, sim = slack_bridge, slack_bridge.sim
    thread, suggestions = await _answered(bridge, f"{LONG} please")
    answer = sim.bot_message_records(CHANNEL, thread)[0]
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
    first, _, second = sim.bot_message_records(CHANNEL, thread)[:3]
    assert first.ts == answer.ts
    assert second.visible_text == f"{texts.follow_up_heading('bob', MORE)}\necho: {MORE}"
    assert len(bridge.asked(MORE)) == 1, "a click delivered twice is answered once"

    [stored] = [c["chat"] for c in bridge.owui.chats.values() if c["chat"]["title"] == f"About {LONG}"]
    path = chats.chain(chats.readable(stored) or {})
    assert [m["content"] for m in path] == [f"{LONG} please", f"echo: {LONG} please", MORE, f"echo: {MORE}"]
    assert path[2]["role"] == "user" and path[2]["name"] == "bob", "asked as the person who clicked"


@pytest.mark.usefixtures("tasks_on")
async def test_a_person_the_access_rules_refuse_is_told_privately_and_nothing_is_asked(
    slack_bridge: SlackBridge,
) -> None:
    bridge, sim = slack_bridge, slack_bridge.sim
    await bridge.restart(denied_users=[BOB])
    thread, suggestions = await _answered(bridge, "guarded ideas")
    await sim.user_clicks(CHANNEL, suggestions.ts, BOB, _buttons(suggestions)[0]["action_id"])
    await bridge.settle()
    assert [e["visible_text"] for e in sim.ephemerals(CHANNEL, BOB)] == [f"⛔ {texts.USER_REFUSED}"]
    assert len(sim.bot_message_records(CHANNEL, thread)) == 2
    assert not bridge.asked("More about guarded ideas")
