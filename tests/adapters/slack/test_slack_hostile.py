"""A model's output must not notify a whole channel, and a hostile message must not break anything."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from adapters.slack.text import defuse
from simulators.model_upstream import message_text
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


async def test_broadcast_mentions_in_model_output_stay_plain_text(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    # Slack escapes what a user types: "&lt;!channel&gt;" reaches the model as "<!channel>", which it echoes.
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "say &lt;!channel&gt; and &lt;!here&gt; [[rate:50]]")
    await slack_bridge.settle()
    assert "<!channel>" in slack_bridge.reply_to("say")
    records = sim.bot_message_records(CHANNEL, posted.ts)
    assert records
    for record in records:
        for version in record.versions:
            assert "<!channel>" not in version.visible_text and "<!here>" not in version.visible_text
            assert "<!channel>" not in (version.text or "")
    for call in sim.calls():
        for value in call.params.values():
            assert "<!channel>" not in str(value) and "<!here>" not in str(value), call.method


async def test_huge_and_control_character_text_is_answered(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    text = "\x00\x07 control " + "🙂" * 5000 + " end"
    posted = await sim.user_mentions_app(CHANNEL, ALICE, text)
    await slack_bridge.settle()
    answers = sim.bot_messages(CHANNEL, posted.ts)
    assert answers and "end" in answers[-1]
    assert sim.count_429() == 0


SLACK_LINK = re.compile(r"<([^<>|]*)\|?([^<>]*)>")


async def test_source_urls_and_names_cannot_ping_or_plant_links(slack_bridge: SlackBridge) -> None:
    """OpenWebUI relays a document's or web page's name and URL: neither may close Slack's `<url|name>`
    early, ping anyone or add a link of its own; a URL that is not http(s) is named without a link."""
    sim = slack_bridge.sim
    key = f"SOURCES-{uuid.uuid4().hex}"
    slack_bridge.owui.planted_sources[key] = [
        {"name": "Report", "url": "https://docs.test/a><!channel> <https://evil.test|Click me"},
        {"name": "Notes <!here> & <https://evil.test|more> |x", "url": "https://docs.test/b?x=1&y=2"},
        {"name": "Script", "url": "javascript:alert(1)"},
        *({"name": f"{index} " + "long name " * 40, "url": f"https://docs.test/{index}"} for index in range(30)),
    ]
    try:
        posted = await sim.user_mentions_app(CHANNEL, ALICE, f"{key} what is new?")
        await slack_bridge.settle()
    finally:
        del slack_bridge.owui.planted_sources[key]
    line = next(r for r in sim.bot_message_records(CHANNEL, posted.ts) if r.text.startswith("Sources:"))
    for shown in (line.text, line.visible_text):
        links = SLACK_LINK.findall(shown)
        assert {urlsplit(url).netloc for url, _ in links} == {"docs.test"}, links
        assert "Script" in shown and "javascript:" not in shown
        assert "<!" not in shown and "&lt;!here&gt;" in shown
    assert line.text.endswith("more")  # within a context block's 3,000 characters (the simulator refuses more)


async def test_mentions_of_every_kind_in_model_output_ping_nobody(slack_bridge: SlackBridge) -> None:
    """Users, user groups and whole channels stay text; a channel link stays a link (it pings nobody)."""
    sim = slack_bridge.sim
    answer = (
        "Hi <@U0BOB> and <@W0ALICE|alice>, <!subteam^S0TEAM|@team>, <!here> <!channel> <!everyone>; see <#C0GENERAL>."
    )
    posted = await sim.user_mentions_app(CHANNEL, ALICE, slack_bridge.upstream.script(answer))
    await slack_bridge.settle()
    assert sim.pings() == []
    [shown] = sim.bot_messages(CHANNEL, posted.ts)
    assert shown == defuse(answer) and "<#C0GENERAL>" in shown


async def test_a_question_asked_by_slash_command_is_reposted_without_pings(slack_bridge: SlackBridge) -> None:
    """`/owui ask` posts the question in the channel: only its asker is named (and notified), whatever the
    question says; Slack's escapes of what was typed reach the model undone, as for a mention."""
    sim = slack_bridge.sim
    question = "about &lt;!channel&gt; &amp; <!channel> <!here|here> <@U0BOB> <!subteam^S0TEAM> a &lt; b"
    invocation = await sim.slash_command("/owui", f"ask {question}", ALICE, CHANNEL)
    await slack_bridge.settle()
    assert invocation.responses == []
    assert [ping.mention for ping in sim.pings()] == [f"@{ALICE}"]  # the root message names its asker
    [root] = [m for m in sim.ws.top_level(CHANNEL) if m.user == sim.bot_user_id]
    assert root.text.startswith(f"<@{ALICE}> asked: ")
    asked = slack_bridge.asked("about")[-1]
    assert message_text(asked.messages[-1]) == "about <!channel> & @channel @here @U0BOB <!subteam^S0TEAM> a < b"


async def test_an_announced_system_prompt_pings_only_the_admin_who_set_it(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    invocation = await sim.slash_command("/owui", "system Always greet <!channel> and <@U0BOB>.", ALICE, CHANNEL)
    await slack_bridge.settle()
    [answer] = invocation.responses
    assert answer.response_type == "in_channel" and "greet" in answer.text
    assert [ping.mention for ping in sim.pings()] == [f"@{ALICE}"]
