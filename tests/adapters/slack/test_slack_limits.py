"""Slack's length limits hold for the text as sent: the escapes that keep a model's mentions from pinging
add characters, and a part cut at 12,000 characters before them used to be refused whole."""

from __future__ import annotations

import pytest

from adapters.slack.text import defuse
from bridge.splitting import reassemble
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
LIMIT = 12_000


def answer_with_mentions(length: int, mentions: int) -> str:
    """`length` characters of words, with `<!here>` and `<!channel>` spread over the last part."""
    words = ["word"] * (length // 5)
    for index in range(mentions):
        words[-1 - 7 * index] = "<!here>" if index % 2 else "<!channel>"
    text = " ".join(words)
    return (text + " " + "x" * length)[:length].rstrip() + "."


def visible_answer(bridge: SlackBridge, thread_ts: str) -> tuple[list[str], list[str]]:
    """The texts of the bot's messages in the thread, and of the calls Slack refused."""
    records = bridge.sim.bot_message_records(CHANNEL, thread_ts)
    refused = [f"{c.method}: {c.error}" for c in bridge.sim.calls() if c.method.startswith("chat.") and not c.ok]
    return [record.visible_text for record in records], refused


@pytest.mark.parametrize("native", [True, False], ids=["stream", "post-and-update"])
@pytest.mark.parametrize("length", [LIMIT - 5, 2 * LIMIT - 5], ids=["one-part", "two-parts"])
async def test_mentions_in_an_answer_at_the_limit_do_not_push_it_over(
    slack_bridge: SlackBridge, native: bool, length: int
) -> None:
    if not native:
        await slack_bridge.restart(native_streaming=False)
    answer = answer_with_mentions(length, mentions=20)
    assert len(answer) == length and len(defuse(answer)) > length
    posted = await slack_bridge.sim.user_mentions_app(CHANNEL, ALICE, slack_bridge.upstream.script(answer))
    await slack_bridge.settle(timeout=30)
    texts, refused = visible_answer(slack_bridge, posted.ts)
    assert refused == []
    assert slack_bridge.sim.ephemerals(user=ALICE) == []
    assert all(len(text) <= LIMIT for text in texts)
    assert reassemble(texts) == defuse(answer)
    methods = {call.method for call in slack_bridge.sim.calls()}
    assert ("chat.appendStream" if native else "chat.update") in methods  # the path under test was taken
