"""The controls on an answer through the core, against the fake and (contract suite) a real OpenWebUI 0.12.4:
a regenerated answer is a sibling branch, a stopped answer is saved as it stood, feedback lands in the
evaluations API and a second click updates it, an edited question is a sibling question."""

from __future__ import annotations

import asyncio

import pytest

from bridge import texts
from bridge.answer_controls import AnswerControls, SurfaceFor
from bridge.engine import Engine
from bridge.errors import UserFacingError
from bridge.messages import ConversationKey, Person
from bridge.openwebui import OpenWebUIClient
from bridge.openwebui import chat as chats
from bridge.surface import ReplySurface
from tests import openwebui_extras as extras
from tests.conftest import OwuiTarget
from tests.messages import key, message
from tests.surfaces import RecordingSurface

ADA = Person("u1", "Ada")
BOB = Person("u2", "Bob")


@pytest.fixture
def controls(engine: Engine) -> AnswerControls:
    return AnswerControls(engine)


async def _stored(client: OpenWebUIClient, chat_id: str) -> dict:
    return chats.readable((await client.get_chat(chat_id))["chat"]) or {}


async def test_regenerate_adds_a_sibling_answer_and_later_turns_continue_from_it(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    k = key()
    first = await engine.handle(message(k, "pick a colour"), RecordingSurface())
    assert first.turn_id is not None
    surface = RecordingSurface()
    again = await controls.regenerate("test", first.turn_id, BOB, "click-1", surface)
    assert again.status == "answered", again.error
    assert surface.visible(again.message_ids) == f"{texts.attempt_heading(2)}\necho: pick a colour"

    chat = await _stored(client, first.chat_id)
    history = chat["history"]
    [question] = [m for m in history["messages"].values() if m["role"] == "user"]
    answers = [history["messages"][child] for child in question["childrenIds"]]
    assert [a["content"] for a in answers] == ["echo: pick a colour", "echo: pick a colour"]
    assert all(a["parentId"] == question["id"] for a in answers)
    assert history["currentId"] == answers[1]["id"], "the chat shows the newest attempt"
    assert "Attempt" not in answers[1]["content"], "the heading is the platform's, not the model's answer"

    third = await controls.regenerate("test", first.turn_id, ADA, "click-2", surface)
    assert texts.attempt_heading(3) in surface.visible(third.message_ids)

    later = await engine.handle(message(k, "and another"), RecordingSurface())
    chat = await _stored(client, later.chat_id)
    path = chats.chain(chat)
    assert [m["role"] for m in path] == ["user", "assistant", "user", "assistant"]
    attempts = chat["history"]["messages"][question["id"]]["childrenIds"]
    assert len(attempts) == 3 and path[1]["id"] == attempts[-1], "the later turn hangs under the newest attempt"
    request = owui.upstream.requests_containing("and another")[-1]
    assert [m["role"] for m in request.messages if m["role"] != "system"] == ["user", "assistant", "user"]


async def test_a_stopped_answer_keeps_its_text_and_is_saved_as_the_answer(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    k = key()
    asked = message(k, "talk forever [[endless]] [[rate:40]]")
    surface = RecordingSurface()
    turn = asyncio.create_task(engine.handle(asked, surface))
    await _until(lambda: len("".join(surface.messages.values())) > 40)
    assert await controls.stop("test", asked.event_id, BOB, admin=False) == texts.STOP_NOT_YOURS
    assert await controls.stop("test", asked.event_id, ADA, admin=False) == ""
    outcome = await asyncio.wait_for(turn, 10)
    assert outcome.status == "answered"
    shown = surface.visible(outcome.message_ids)
    assert shown.endswith(texts.stopped_by("Ada")) and len(shown) > 40

    request = owui.upstream.requests_containing("talk forever")[-1]
    await asyncio.sleep(0.3)  # a token already on its way may still go out
    sent = request.chunks_sent
    await asyncio.sleep(0.5)
    assert request.chunks_sent == sent, "the upstream request ended with the stop"

    chat = await _stored(client, outcome.chat_id)
    answer = chats.chain(chat)[-1]
    assert answer["role"] == "assistant" and answer["done"] is True
    assert answer["content"] == outcome.text == shown
    assert await controls.stop("test", asked.event_id, ADA, admin=True) == texts.ALREADY_FINISHED


async def test_an_admin_may_stop_someone_elses_answer(engine: Engine, controls: AnswerControls) -> None:
    asked = message(key(), "go on [[endless]] [[rate:40]]")
    surface = RecordingSurface()
    turn = asyncio.create_task(engine.handle(asked, surface))
    await _until(lambda: bool(surface.messages))
    assert await controls.stop("test", asked.event_id, BOB, admin=True) == ""
    outcome = await asyncio.wait_for(turn, 10)
    assert outcome.text.endswith(texts.stopped_by("Bob"))


async def test_feedback_goes_to_the_evaluations_api_and_a_second_click_updates_it(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient
) -> None:
    outcome = await engine.handle(message(key(), "rate me"), RecordingSurface())
    assert outcome.turn_id is not None
    assert await controls.rate("test", outcome.turn_id, ADA, 1) == texts.rated(1, changed=False)
    [mine] = (await client.call("GET", "/api/v1/evaluations/feedbacks/user"))["items"][:1]
    assert mine["data"]["rating"] == 1
    chat = await _stored(client, outcome.chat_id)
    answer = chats.chain(chat)[-1]
    assert mine["meta"]["chat_id"] == outcome.chat_id and mine["meta"]["message_id"] == answer["id"]
    assert mine["data"]["model_id"] == answer["model"] and mine["type"] == "rating"

    assert await controls.rate("test", outcome.turn_id, ADA, -1) == texts.rated(-1, changed=True)
    again = await client.call("GET", f"/api/v1/evaluations/feedback/{mine['id']}")
    assert again["data"]["rating"] == -1, "the same feedback changed"
    items = (await client.call("GET", "/api/v1/evaluations/feedbacks/user"))["items"]
    assert [f["id"] for f in items if (f["meta"] or {}).get("message_id") == answer["id"]] == [mine["id"]]

    await controls.rate("test", outcome.turn_id, BOB, 1)
    items = (await client.call("GET", "/api/v1/evaluations/feedbacks/user"))["items"]
    assert len([f for f in items if (f["meta"] or {}).get("message_id") == answer["id"]]) == 2, "one per person"


def _on(surface: RecordingSurface) -> SurfaceFor:
    """The answer to an edited question goes to `surface`."""

    async def surface_for(_key: ConversationKey) -> ReplySurface:
        return surface

    return surface_for


async def test_an_edited_latest_question_is_asked_again_as_a_sibling(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient
) -> None:
    k = key()
    first = await engine.handle(message(k, "first question", event_id="q1"), RecordingSurface())
    second = await engine.handle(message(k, "secnod question", event_id="q2"), RecordingSurface())
    with pytest.raises(UserFacingError) as older:
        await controls.ask_edited("test", "q1", "first, edited", "e1", ADA, _on(RecordingSurface()))
    assert str(older.value) == texts.EDIT_NOT_LAST
    assert await controls.ask_edited("test", "q1", "first question", "e0", ADA, _on(RecordingSurface())) is None
    assert await controls.ask_edited("test", "q2", "secnod question", "e0", ADA, _on(RecordingSurface())) is None
    assert await controls.ask_edited("test", "nothing", "text", "e0", ADA, _on(RecordingSurface())) is None

    surface = RecordingSurface()
    edited = await controls.ask_edited("test", "q2", "second question", "e2", ADA, _on(surface))
    assert edited is not None and edited.status == "answered"
    assert surface.visible(edited.message_ids) == f"{texts.EDITED_HEADING}\necho: second question"
    chat = await _stored(client, second.chat_id)
    path = chats.chain(chat)
    assert [m["content"] for m in path] == [
        "first question",
        "echo: first question",
        "second question",
        "echo: second question",
    ]
    siblings = chat["history"]["messages"][path[1]["id"]]["childrenIds"]
    assert len(siblings) == 2, "the old and the edited question hang under the same answer"
    assert first.chat_id == second.chat_id == edited.chat_id
    again = await controls.ask_edited("test", "q2", "second question, again", "e3", ADA, _on(RecordingSurface()))
    assert again is not None and again.status == "answered", "the edited question stays the latest"


async def test_an_answer_of_an_ended_conversation_is_not_regenerated(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient
) -> None:
    k = key()
    first = await engine.handle(message(k, "before new"), RecordingSurface())
    assert first.turn_id is not None
    await engine.store.archive_conversation(k)
    chats_before = len(await extras.list_chats(client))
    with pytest.raises(UserFacingError) as ended:
        await controls.regenerate("test", first.turn_id, ADA, "click", RecordingSurface())
    assert str(ended.value) == texts.CONVERSATION_ENDED
    assert len(await extras.list_chats(client)) == chats_before, "no chat is started for it"


async def test_a_follow_up_is_read_back_from_the_answer_and_asked_once_as_the_clickers_next_message(
    engine: Engine, controls: AnswerControls, client: OpenWebUIClient
) -> None:
    k = key()
    surface = RecordingSurface()
    await extras.set_tasks(client, True)
    try:
        first = await engine.handle(message(k, "Bridges over rivers explained please"), surface)
        await extras.after_answers(engine)
    finally:
        await extras.set_tasks(client, False)
    assert first.turn_id is not None
    assert surface.followups == [["More about Bridges over rivers explained", "Why Bridges over rivers explained?"]]

    asked = await controls.follow_up("test", first.turn_id, 1, BOB, "click-1")
    assert (asked.key, asked.author_id, asked.author_name) == (k, BOB.id, BOB.name)
    assert asked.text == "Why Bridges over rivers explained?"
    answered = RecordingSurface()
    outcome = await engine.handle(asked, answered)
    assert outcome.status == "answered" and outcome.chat_id == first.chat_id, outcome.error
    heading = texts.follow_up_heading("Bob", "Why Bridges over rivers explained?")
    assert answered.visible(outcome.message_ids) == f"{heading}\necho: Why Bridges over rivers explained?"
    path = chats.chain(await _stored(client, first.chat_id))
    assert [(m["role"], m["content"]) for m in path][2:] == [
        ("user", "Why Bridges over rivers explained?"),
        ("assistant", "echo: Why Bridges over rivers explained?"),
    ]
    assert path[2]["name"] == "Bob"
    again = await controls.follow_up("test", first.turn_id, 1, BOB, "click-1")
    assert (await engine.handle(again, RecordingSurface())).status == "duplicate", "the same click once"

    with pytest.raises(UserFacingError) as gone:
        await controls.follow_up("test", first.turn_id, 2, BOB, "click-2")
    assert str(gone.value) == texts.FOLLOW_UP_GONE
    await engine.store.archive_conversation(k)
    with pytest.raises(UserFacingError) as ended:
        await controls.follow_up("test", first.turn_id, 0, BOB, "click-3")
    assert str(ended.value) == texts.CONVERSATION_ENDED


async def test_a_button_of_an_unknown_turn_says_it_expired(controls: AnswerControls) -> None:
    with pytest.raises(UserFacingError) as expired:
        await controls.rate("test", 999_999, ADA, 1)
    assert str(expired.value) == texts.CONTROL_EXPIRED


async def _until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)
