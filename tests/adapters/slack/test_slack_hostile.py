"""A model's output must not notify a whole channel, and a hostile message must not break anything."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

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
