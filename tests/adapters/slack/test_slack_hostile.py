"""A model's output must not notify a whole channel, and a hostile message must not break anything."""

from __future__ import annotations

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
