"""The signed-in path's parts that need no server: its settings, the answer text rebuilt from socket events,
and the progress line of a live reply. Its behaviour against a real OpenWebUI is in
`tests/adapters/discord/test_discord_signed_in.py` and `tests/contract/test_signed_in_session.py`."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from bridge.live_reply import LiveReply
from bridge.openwebui import PipelineExtras
from bridge.openwebui.socket import Inbox
from bridge.openwebui.webui_turn import AnswerText, LateEvents
from bridge.settings import BridgeSettings, ConfigError, OpenWebUISettings, Settings, load_settings
from bridge.surface import SurfaceLimits
from tests.clock import in_virtual_time, loop_clock
from tests.surfaces import RecordingSurface


@pytest.mark.parametrize(
    ("given", "named"),
    [({"OPENWEBUI_EMAIL": "bot@x.test"}, "OPENWEBUI_PASSWORD"), ({"OPENWEBUI_PASSWORD": "pw"}, "OPENWEBUI_EMAIL")],
)
def test_one_sign_in_setting_without_the_other_names_the_missing_one(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str], named: str
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-test")
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings(None)
    assert str(refused.value).startswith(f"{named}: missing")
    assert "pw" not in str(refused.value)


def test_the_sign_in_is_off_by_default_and_its_password_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-test")
    assert not load_settings(None).openwebui.signs_in
    openwebui = OpenWebUISettings(_env_file=None, email="bot@x.test", password=SecretStr("hunter2"))  # type: ignore[call-arg]
    settings = Settings(openwebui, BridgeSettings(_env_file=None))  # type: ignore[call-arg]
    assert openwebui.signs_in and "hunter2" in settings.secrets() and "hunter2" not in repr(openwebui)


def test_the_answer_text_is_the_output_messages_only() -> None:
    """Tool calls, their results and reasoning (other output items) never reach the text a person sees; the
    event shapes are the ones OpenWebUI 0.12.4 sends (`response.output_text.delta`, whole `output` lists)."""
    answer = AnswerText()
    answer.stream_event({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Let "})
    answer.stream_event(
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "me look."}
    )
    call = {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": "x"}'}
    answer.stream_event({"type": "response.output_item.added", "output_index": 1, "item": call})
    answer.stream_event({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"q"'})
    assert answer.text == "Let me look."
    answer.whole_output(
        [
            {"type": "reasoning", "content": [{"type": "output_text", "text": "the user wants rows"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Let me look."}]},
            call,
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "42 rows"}]},
            {"type": "message", "content": [{"type": "output_text", "text": ""}]},
        ]
    )
    answer.stream_event({"type": "response.output_text.delta", "output_index": 4, "delta": "Found 42."})
    assert answer.text == "Let me look.\nFound 42."


@in_virtual_time
async def test_the_status_is_the_reply_s_progress_until_the_first_words() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.1))
    reply = LiveReply(surface, clock=loop_clock())
    reply.start()
    reply.announce("Searching the web")
    await asyncio.sleep(0.5)
    reply.announce("Reading 3 pages")
    await asyncio.sleep(0.5)
    reply.update("The answer ")
    await asyncio.sleep(0.5)
    reply.announce("Calling a tool")  # text is there: progress is not shown any more
    await asyncio.sleep(0.5)
    await reply.finish("The answer is 42.")
    assert surface.activities == ["Searching the web", "Reading 3 pages"]
    assert [op.text for op in surface.ops] == ["The answer ", "The answer is 42."]


async def test_the_events_after_an_answer_give_its_title_and_follow_ups_and_end_with_openwebui_s_work() -> None:
    """After the answer's end OpenWebUI sends follow-ups, then (first turn) the title and tags, then
    `chat:active` false: what came is kept, and the listener stops at the end of OpenWebUI's work, not at
    its time limit; its inbox is closed either way."""
    closed: list[Inbox] = []
    inbox = Inbox("sid", closed.append)
    for event in (
        {"type": "chat:message:follow_ups", "data": {"follow_ups": ["Why?", "How?"]}},
        {"type": "chat:tags", "data": ["rivers"]},
        {"type": "chat:active", "data": {"active": False}},
        {"type": "chat:title", "data": "too late"},
    ):
        inbox.put(event)
    async with asyncio.timeout(5):
        extras = await LateEvents(inbox, titled=True).wait(60)
    assert extras == PipelineExtras("", ("Why?", "How?")) and closed == [inbox]

    later = Inbox("sid", closed.append)
    later.put({"type": "chat:title", "data": "About rivers"})
    later.put({"type": "chat:message:follow_ups", "data": {"follow_ups": ["More?"]}})
    assert await LateEvents(later, titled=True).wait(60) == PipelineExtras("About rivers", ("More?",))
    quiet = Inbox("sid", closed.append)
    assert await LateEvents(quiet, titled=False).wait(0.05) == PipelineExtras()
    assert closed == [inbox, later, quiet]
