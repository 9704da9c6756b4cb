"""Controls on an answer through the real slack-bolt app: Regenerate and 👍/👎 under the answer, Stop offered
to the asker while it streams, and edited questions, as `block_actions` clicks and `message_changed` events
from the simulator, with the fake OpenWebUI."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack import controls as slack_controls
from bridge import texts
from bridge.control_ids import Action, control_id
from bridge.openwebui import chat as chats
from simulators.slack.server import UserMessage
from simulators.slack.state import Message
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"  # a workspace admin in the simulator
BOB = "U0BOB"


def _buttons(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


def _answers(bridge: SlackBridge, thread: str) -> list[Message]:
    return bridge.sim.bot_message_records(CHANNEL, thread)


async def _answered(bridge: SlackBridge, text: str) -> tuple[UserMessage, Message]:
    """Alice mentions the app with `text` in the channel and the answer is done: (her message, the answer)."""
    posted = await bridge.sim.user_mentions_app(CHANNEL, ALICE, text)
    await bridge.settle()
    [answer] = _answers(bridge, posted.ts)
    return posted, answer


def _notes(bridge: SlackBridge, user: str) -> list[str]:
    """What `user` was shown privately, oldest first."""
    return [e["visible_text"] for e in bridge.sim.ephemerals(CHANNEL, user)]


def _chat(bridge: SlackBridge, question: str) -> dict[str, Any]:
    found = [
        chats.readable(stored["chat"]) or {}
        for stored in bridge.owui.chats.values()
        if any(m.get("content") == question for m in stored["chat"]["history"]["messages"].values())
    ]
    assert len(found) == 1
    return found[0]


async def test_the_finished_answer_carries_regenerate_and_ratings_without_a_call_of_its_own(
    slack_bridge: SlackBridge,
) -> None:
    sim = slack_bridge.sim
    _, answer = await _answered(slack_bridge, "streamed answer [[reply:300]] [[rate:100]]")
    assert answer.visible_text == slack_bridge.reply_to("streamed answer"), "the buttons add no text"
    turn = _buttons(answer)[0].rsplit(":", 1)[1]
    assert _buttons(answer) == [control_id(a, turn) for a in (Action.REGENERATE, Action.RATE_UP, Action.RATE_DOWN)]
    [stopped] = sim.calls("chat.stopStream")
    assert stopped.params.get("blocks"), "the stream's stop carries the buttons"
    assert not sim.calls("chat.update"), "no update only for the buttons"
    assert not sim.ephemerals(CHANNEL), "a quick answer is not offered Stop"

    dm = sim.dm_channel(ALICE)
    asked = await sim.user_dm(ALICE, "posted answer")
    await slack_bridge.settle()
    [reply] = [m for m in sim.bot_message_records(dm) if m.ts > asked.ts]
    assert _buttons(reply)[0].startswith("owb:regen:"), "a posted answer's final write carries them too"


async def test_regenerate_answers_again_as_attempt_two_also_after_a_restart(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted, answer = await _answered(slack_bridge, "name a colour")
    await slack_bridge.restart()
    await sim.user_clicks(CHANNEL, answer.ts, BOB, _buttons(answer)[0])
    await slack_bridge.settle()
    first, second = _answers(slack_bridge, posted.ts)
    assert second.visible_text == f"{texts.attempt_heading(2)}\necho: name a colour"
    assert _buttons(second)[0].startswith("owb:regen:") and _buttons(second) != _buttons(first)
    chat = _chat(slack_bridge, "name a colour")
    [question] = [m for m in chat["history"]["messages"].values() if m["role"] == "user"]
    assert len(question["childrenIds"]) == 2 and chat["history"]["currentId"] == question["childrenIds"][1]


async def test_ratings_go_to_openwebui_privately_and_a_second_click_changes_them(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    slack_bridge.owui.feedback.clear()
    posted, answer = await _answered(slack_bridge, "rate me")
    _, up, down = _buttons(answer)
    await sim.user_clicks(CHANNEL, answer.ts, BOB, up)
    await slack_bridge.settle()
    [feedback] = slack_bridge.owui.feedback.values()
    assert feedback["data"]["rating"] == 1 and feedback["meta"]["rated_by"] == f"slack:{BOB}"
    await sim.user_clicks(CHANNEL, answer.ts, BOB, down)
    await slack_bridge.settle()
    assert list(slack_bridge.owui.feedback.values()) == [feedback] and feedback["data"]["rating"] == -1
    assert _notes(slack_bridge, BOB) == [texts.rated(1, changed=False), texts.rated(-1, changed=True)]
    assert len(_answers(slack_bridge, posted.ts)) == 1


async def test_stop_is_offered_to_the_asker_while_the_answer_streams_and_ends_it(
    slack_bridge: SlackBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_controls, "STOP_AFTER", 0.3)
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "go on and on [[endless]] [[rate:30]]")
    assert await sim.wait_for(lambda: bool(sim.ephemerals(CHANNEL, ALICE)), timeout=10)
    [offer] = sim.ephemerals(CHANNEL, ALICE)
    assert offer["thread_ts"] == posted.ts and not sim.ephemerals(CHANNEL, BOB)
    stop = control_id(Action.STOP, f"{sim.team_id}:{CHANNEL}:{posted.ts}")
    await sim.user_clicks(CHANNEL, offer["ts"], ALICE, stop)
    await slack_bridge.settle()
    [answer] = _answers(slack_bridge, posted.ts)
    assert answer.visible_text.endswith(texts.stopped_by("alice"))
    assert _buttons(answer)[0].startswith("owb:regen:")
    stored = chats.chain(_chat(slack_bridge, "go on and on [[endless]] [[rate:30]]"))[-1]
    assert stored["content"] == answer.visible_text.replace("\u200b", "")

    await sim.user_clicks(CHANNEL, offer["ts"], ALICE, stop)
    await slack_bridge.settle()
    assert _notes(slack_bridge, ALICE)[-1] == texts.ALREADY_FINISHED


async def test_refused_people_are_told_privately_and_nothing_happens(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(denied_users=[BOB])
    slack_bridge.owui.feedback.clear()
    posted, answer = await _answered(slack_bridge, "for alice")
    for action_id in _buttons(answer):
        await sim.user_clicks(CHANNEL, answer.ts, BOB, action_id)
    await slack_bridge.settle()
    assert _notes(slack_bridge, BOB) == [f"⛔ {texts.USER_REFUSED}"] * 3
    assert len(_answers(slack_bridge, posted.ts)) == 1 and not slack_bridge.owui.feedback


async def test_an_edited_latest_question_is_asked_again_and_an_older_one_gets_a_private_hint(
    slack_bridge: SlackBridge,
) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "capital of Frnace")
    await slack_bridge.settle()
    follow_up = await sim.user_posts(CHANNEL, ALICE, "and of Itlay", thread_ts=posted.ts)
    await slack_bridge.settle()
    await sim.user_edits(CHANNEL, follow_up.ts, "and of Italy")
    await slack_bridge.settle()
    answers = _answers(slack_bridge, posted.ts)
    assert [a.visible_text for a in answers][-1] == f"{texts.EDITED_HEADING}\necho: and of Italy"
    path = chats.chain(_chat(slack_bridge, "capital of Frnace"))
    assert [m["content"] for m in path if m["role"] == "user"] == ["capital of Frnace", "and of Italy"]

    await sim.user_edits(CHANNEL, posted.ts, f"<@{sim.bot_user_id}> capital of France")
    await slack_bridge.settle()
    assert _notes(slack_bridge, ALICE) == [texts.EDIT_NOT_LAST]
    assert len(_answers(slack_bridge, posted.ts)) == len(answers)


async def test_clicks_reach_the_app_in_http_mode_too(slack_bridge: SlackBridge) -> None:
    """Slack POSTs a click to the Request URL as a signed `payload=` form; bolt routes it like an event."""
    sim = slack_bridge.sim
    await slack_bridge.restart(mode="http")
    posted, answer = await _answered(slack_bridge, "over http")
    delivery = await sim.user_clicks(CHANNEL, answer.ts, ALICE, _buttons(answer)[0])
    await slack_bridge.settle()
    assert [a.outcome for a in delivery.attempts] == ["acked"]
    assert [m.visible_text for m in _answers(slack_bridge, posted.ts)][
        -1
    ] == f"{texts.attempt_heading(2)}\necho: over http"
