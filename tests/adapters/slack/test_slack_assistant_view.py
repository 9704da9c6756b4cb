"""Slack's assistant view through slack-bolt's `Assistant`: suggested prompts, the title, the status, and the
channel in view as context; events and `assistant.threads.*` as the simulator serves them like Slack."""

from __future__ import annotations

from simulators.slack.assistant import change_context, open_assistant_thread
from tests.adapters.slack.conftest import SlackBridge

ALICE = "U0ALICE"
BOB = "U0BOB"
GENERAL = "C0GENERAL"


def offered(bridge: SlackBridge, thread: object) -> list[list[str]]:
    """The messages of each set of suggested prompts the app gave the thread, in order."""
    where = (thread.channel, thread.thread_ts)  # type: ignore[attr-defined]
    return [[p["message"] for p in s["prompts"]] for s in bridge.sim.assistant.threads.prompts.get(where, [])]


async def test_a_new_thread_is_offered_the_models_prompts_and_the_channel_in_view(slack_bridge: SlackBridge) -> None:
    sim, owui = slack_bridge.sim, slack_bridge.owui
    plain = open_assistant_thread(sim, BOB)
    await slack_bridge.settle()
    assert offered(slack_bridge, plain) == [], "no channel in view, no model prompts, no setting: nothing"

    await slack_bridge.restart()  # the models' list is cached for a minute
    owui.model_meta = {"echo-1": {"suggestion_prompts": [{"title": ["Plan"], "content": "Plan my week"}]}}
    try:
        thread = open_assistant_thread(sim, ALICE, viewing=GENERAL)
        await slack_bridge.settle()
        assert offered(slack_bridge, thread) == [["Summarize the latest messages of this channel.", "Plan my week"]]
        change_context(sim, thread, "C0RANDOM")
        await slack_bridge.settle()
        assert len(offered(slack_bridge, thread)) == 2, "offered again while the thread has no question"
    finally:
        owui.model_meta = {}


async def test_the_setting_stands_in_when_the_model_has_no_prompts(slack_bridge: SlackBridge) -> None:
    await slack_bridge.restart(suggested_prompts=["What can you do?", "Write a haiku"])
    thread = open_assistant_thread(slack_bridge.sim, BOB)
    await slack_bridge.settle()
    assert offered(slack_bridge, thread) == [["What can you do?", "Write a haiku"]]


async def test_a_question_gets_a_title_a_status_and_an_answer_in_the_thread(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    thread = open_assistant_thread(sim, ALICE, viewing=GENERAL)
    await slack_bridge.settle()
    await sim.user_dm(ALICE, "how do bridges stand up?\nsecond line", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    assert sim.assistant.threads.titles[(thread.channel, thread.thread_ts)] == ["how do bridges stand up?"]
    assert sim.thread_statuses(thread.channel, thread.thread_ts)[0] == "is thinking…"
    reply = slack_bridge.reply_to("how do bridges stand up?")
    assert sim.bot_messages(thread.channel, thread.thread_ts)[-1] == reply
    await sim.user_dm(ALICE, "and then?", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    assert len(sim.assistant.threads.titles[(thread.channel, thread.thread_ts)]) == 1, "titled once"
    assert slack_bridge.asked("and then?")[-1].message_count == 3, "the thread is one chat"


async def test_a_question_about_this_channel_reads_it(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await sim.user_posts(GENERAL, BOB, "release is on MARKER-day1")
    await sim.user_posts(GENERAL, BOB, "then a party MARKER-day2")
    thread = open_assistant_thread(sim, ALICE, viewing=GENERAL)
    await slack_bridge.settle()
    await sim.user_dm(ALICE, "Summarize the latest messages of this channel.", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    [request] = slack_bridge.asked("Summarize the latest messages of this channel.")
    question = request.question
    assert "<#C0GENERAL>" in question and question.index("MARKER-day1") < question.index("MARKER-day2")

    await sim.user_dm(ALICE, "what is a haiku?", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    assert "MARKER-day1" not in slack_bridge.asked("what is a haiku?")[-1].question, "only when asked about it"


async def test_a_channel_the_person_may_not_use_is_not_read(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(denied_channels=["C0PRIVATE"])
    await sim.user_posts("C0PRIVATE", BOB, "secret MARKER-private")
    thread = open_assistant_thread(sim, ALICE, viewing="C0PRIVATE")
    await slack_bridge.settle()
    assert offered(slack_bridge, thread) == [], "no summary of a refused channel is offered"
    await sim.user_dm(ALICE, "what happens in this channel?", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    assert not slack_bridge.upstream.requests_containing("MARKER-private")
    assert slack_bridge.asked("what happens in this channel?"), "the question itself is answered"


async def test_a_person_refused_dms_gets_no_prompts_and_a_private_note(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(denied_users=[ALICE], suggested_prompts=["What can you do?"])
    thread = open_assistant_thread(sim, ALICE, viewing=GENERAL)
    await slack_bridge.settle()
    assert offered(slack_bridge, thread) == []
    await sim.user_dm(ALICE, "MARKER-refused-assistant", thread_ts=thread.thread_ts)
    await slack_bridge.settle()
    assert not slack_bridge.upstream.requests_containing("MARKER-refused-assistant")
    assert sim.ephemerals(thread.channel, ALICE) and not sim.assistant.threads.titles
