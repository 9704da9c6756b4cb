"""After an answer: OpenWebUI's title, tags and follow-ups, and the files an answer produced, against the fake
and (contract suite) a real OpenWebUI 0.12.4, both asking the deterministic model upstream."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bridge.engine import Engine
from bridge.generated import IMAGE_FAILED, IMAGE_MADE, GeneratedFiles
from bridge.openwebui import OpenWebUIClient, TextDelta
from bridge.openwebui import chat as chats
from bridge.texts import IMAGE_GENERATION_OFF
from simulators.model_upstream import TINY_PNG
from tests import openwebui_extras as extras
from tests.conftest import OwuiTarget
from tests.messages import key, message
from tests.surfaces import RecordingSurface


@pytest.fixture
async def tasks_on(client: OpenWebUIClient) -> AsyncIterator[None]:
    """The admin turned the title, tags and follow-up tasks on (off again afterwards: the server is shared)."""
    await extras.set_tasks(client, True)
    try:
        yield
    finally:
        await extras.set_tasks(client, False)


@pytest.fixture
async def images_on(client: OpenWebUIClient, owui: OwuiTarget) -> AsyncIterator[None]:
    """OpenWebUI's image generation uses the upstream's images endpoint."""
    await extras.set_image_generation(client, True, owui.upstream.base_url, "sk-fake")
    try:
        yield
    finally:
        await extras.set_image_generation(client, False)


async def finished(engine: Engine) -> None:
    await extras.after_answers(engine)


@pytest.mark.usefixtures("tasks_on")
async def test_the_first_answer_titles_and_tags_the_chat_and_every_answer_gets_follow_ups(
    engine: Engine, client: OpenWebUIClient
) -> None:
    k = key()
    first = RecordingSurface()
    outcome = await engine.handle(message(k, "Bridges over rivers explained please"), first)
    assert outcome.status == "answered", outcome.error
    await finished(engine)
    assert first.titles == ["About Bridges over rivers explained"]
    stored = await client.get_chat(outcome.chat_id)
    assert stored["title"] == "About Bridges over rivers explained"
    assert set(await extras.chat_tags(client, outcome.chat_id)) == {"bridge", "bridges"}
    follow_ups = ["More about Bridges over rivers explained", "Why Bridges over rivers explained?"]
    assert first.followups == [follow_ups]
    answer = chats.chain(chats.readable(stored["chat"]) or {})[-1]
    assert answer["role"] == "assistant" and answer["followUps"] == follow_ups
    assert answer["content"] == "echo: Bridges over rivers explained please"

    second = RecordingSurface()
    again = await engine.handle(message(k, "tell me more"), second)
    await finished(engine)
    assert second.titles == []  # a title only after the chat's first answer, as the web UI does
    assert second.followups == [follow_ups]  # the history's first user line makes them
    stored = await client.get_chat(again.chat_id)
    assert stored["title"] == "About Bridges over rivers explained"
    path = chats.chain(chats.readable(stored["chat"]) or {})
    assert [m["role"] for m in path] == ["user", "assistant", "user", "assistant"]
    assert path[1]["followUps"] == follow_ups and path[3]["followUps"] == follow_ups


async def test_tasks_turned_off_leave_the_chat_alone_and_are_not_asked_again(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    k = key()
    surface = RecordingSurface()
    asked_before = len(owui.fake.requests) if owui.fake else 0
    outcome = await engine.handle(message(k, "quiet chat MARKER-notasks"), surface)
    await finished(engine)
    await engine.handle(message(k, "second quiet turn"), RecordingSurface())
    await finished(engine)
    assert surface.titles == [] and surface.followups == []
    assert (await client.get_chat(outcome.chat_id))["title"] == "quiet chat MARKER-notasks"
    assert not [r for r in owui.upstream.requests_containing("<chat_history>") if "MARKER-notasks" in r.question]
    if owui.fake:  # each task was asked once, answered "disabled", and left alone for the second answer
        paths = [path for _, _, path in owui.fake.requests[asked_before:] if path.startswith("/api/v1/tasks/")]
        assert sorted(paths) == [f"/api/v1/tasks/{kind}/completions" for kind in ("follow_up", "tags", "title")]


async def test_the_image_step_draws_the_question_and_tells_the_model(
    client: OpenWebUIClient, owui: OwuiTarget, images_on: None
) -> None:
    generated = GeneratedFiles(client, 1024 * 1024)
    body = {"model": "echo-1", "messages": [{"role": "user", "content": "draw a red square"}], "features": {}}
    assert await generated.draw(body) == (body, [])  # not asked for: nothing drawn
    asked = {**body, "features": {"image_generation": True}}
    changed, drawn = await generated.draw(asked)
    assert owui.upstream.image_prompts[-1] == "draw a red square"
    assert changed["messages"] == [{"role": "system", "content": IMAGE_MADE}, *body["messages"]]
    assert len(drawn) == 1 and drawn[0].file_id
    surface = RecordingSurface()
    assert await generated.deliver(surface, drawn) == []
    [picture] = surface.files
    assert picture.data == TINY_PNG and picture.content_type == "image/png"
    assert picture.name == "generated-image.png"
    assert picture.link == f"{client.base_url}/api/v1/files/{drawn[0].file_id}/content"


async def test_image_generation_turned_off_is_told_the_model_in_a_fixed_sentence(client: OpenWebUIClient) -> None:
    generated = GeneratedFiles(client, 1024 * 1024)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "draw a cat"}]
    changed, drawn = await generated.draw(
        {"model": "echo-1", "messages": messages, "features": {"image_generation": True}}
    )
    assert drawn == []
    told = IMAGE_FAILED.format(error=IMAGE_GENERATION_OFF)
    assert changed["messages"] == [{"role": "system", "content": f"{told}\nBe brief."}, messages[1]]


async def test_files_an_answer_links_are_posted_and_one_too_large_is_named_with_its_link(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    uploaded = await client.upload_file("chart.png", TINY_PNG, "image/png")
    inline = base64.b64encode(b"GIF89a-tiny").decode()
    reply = (
        f"Here is the chart: ![chart](/api/v1/files/{uploaded.id}/content) and a sketch "
        f"![sketch](data:image/gif;base64,{inline}) but not ![elsewhere](https://example.com/x.png)"
    )
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), owui.upstream.script(reply)), surface)
    assert outcome.status == "answered", outcome.error
    assert [(f.name, f.data) for f in surface.files] == [("chart.png", TINY_PNG), ("sketch.gif", b"GIF89a-tiny")]

    small = RecordingSurface(max_upload_bytes=len(TINY_PNG) - 1)
    outcome = await engine.handle(message(key(), owui.upstream.script(reply)), small)
    assert [f.name for f in small.files] == ["sketch.gif"]
    link = f"{client.base_url}/api/v1/files/{uploaded.id}/content"
    assert (
        f"`chart.png` is larger than 1 KiB, the most I can attach here. It is in OpenWebUI: {link}" in small.texts[-1]
    )


async def test_a_pass_through_completion_draws_nothing_even_when_asked(
    client: OpenWebUIClient, owui: OwuiTarget, images_on: None
) -> None:
    """Why the bridge takes the image step itself: OpenWebUI's own step needs a saved chat (`chat_id`), which
    the streaming pass-through mode has not; the request's `features.image_generation` is ignored there."""
    drawn_before = len(owui.upstream.image_prompts)
    body = {
        "model": "echo-1",
        "messages": [{"role": "user", "content": "draw a blue circle MARKER-nodraw"}],
        "features": {"image_generation": True},
        "params": {"function_calling": "legacy"},
    }
    events = [event async for event in client.stream(body)]
    text = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert text == "echo: draw a blue circle MARKER-nodraw [markers: MARKER-nodraw]"
    assert len(owui.upstream.image_prompts) == drawn_before
    assert owui.upstream.asked("MARKER-nodraw")[-1].roles == ["user"]  # no word of an image step


async def test_a_turn_that_asks_for_a_picture_shows_it_and_stores_it_on_the_answer(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget, images_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The features a turn asks for come from the channel's settings (another part of the bridge); here the
    completion request is given `features.image_generation` directly."""
    completion = engine._completion

    async def asking_for_a_picture(*args: object, **kwargs: object) -> dict:
        return {**await completion(*args, **kwargs), "features": {"image_generation": True}}  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_completion", asking_for_a_picture)
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "paint a red square MARKER-paint"), surface)
    assert outcome.status == "answered", outcome.error
    assert owui.upstream.image_prompts[-1] == "paint a red square MARKER-paint"
    assert owui.upstream.asked("MARKER-paint")[-1].messages[0] == {"role": "system", "content": IMAGE_MADE}
    [picture] = surface.files
    assert picture.data == TINY_PNG
    stored = chats.chain(chats.readable((await client.get_chat(outcome.chat_id))["chat"]) or {})[-1]
    assert stored["files"] == [{"type": "image", "url": picture.link.removeprefix(client.base_url)}]


async def test_an_image_prefix_asks_for_a_picture_of_what_follows(
    engine: Engine, owui: OwuiTarget, images_on: None
) -> None:
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "!image a green triangle MARKER-img2"), surface)
    assert outcome.status == "answered", outcome.error
    assert owui.upstream.image_prompts[-1] == "a green triangle MARKER-img2"
    assert [picture.data for picture in surface.files] == [TINY_PNG]
    assert surface.activities == ["Generating an image…"]
