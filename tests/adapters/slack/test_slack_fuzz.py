"""Fuzz: a couple of hundred generated hostile answers (`tests.hostile_texts`) through the real slack-bolt
adapter, checked against what the simulated Slack accepted and showed.

The simulator refuses every call over Slack's limits (markdown block, streamed message and context text,
`chat.update`'s `text`), so a breach shows as a refused call. Rate limits are not what this test is
about: the simulator's are off and the bridge's own budgets are wide, so the answers take seconds.
"""

from __future__ import annotations

import logging

import pytest

from adapters.slack.text import defuse
from bridge.pacing import RateBudget
from tests.adapters.slack.conftest import SlackBridge
from tests.hostile_texts import SOURCE_HOST, answered_exactly_or_with_a_note, batches, cases, errors

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


def widen_budgets(bridge: SlackBridge) -> None:
    assert bridge.adapter is not None
    bridge.sim.config.rate_limits = {}
    budgets = bridge.adapter.budgets.of(bridge.sim.team_id)
    for name in ("update", "stop", "append", "post", "ephemeral", "status"):
        setattr(budgets, name, RateBudget(rate=1000.0, capacity=1000))
    budgets.start = RateBudget(rate=5.0, capacity=5)  # some replies stream, the others post and update
    budgets.channels[CHANNEL] = RateBudget(rate=1000.0, capacity=1000)


@pytest.mark.slow
async def test_hostile_answers_stay_within_limits_ping_nobody_and_read_as_written(
    slack_bridge: SlackBridge, caplog: pytest.LogCaptureFixture
) -> None:
    sim = slack_bridge.sim
    widen_budgets(slack_bridge)
    caplog.set_level(logging.WARNING)
    generated = cases()
    asked: list[tuple[int, str]] = []
    try:
        for batch in batches(generated):
            for case in batch:
                question = case.question(slack_bridge.upstream, slack_bridge.owui)
                posted = await sim.user_mentions_app(CHANNEL, ALICE, question)
                asked.append((case.index, posted.ts))
            await slack_bridge.settle(timeout=60)
    finally:
        slack_bridge.owui.planted_sources.clear()

    methods = {call.method for call in sim.calls()}
    assert {"chat.startStream", "chat.appendStream", "chat.update"} <= methods  # both ways a reply grows
    refused = [f"{c.method}: {c.error}" for c in sim.calls() if c.method.startswith("chat.") and not c.ok]
    assert refused == []
    assert sim.pings() == []
    assert sim.ephemerals() == []
    assert errors(caplog.records) == []
    for index, ts in asked:
        case = generated[index]
        records = sim.bot_message_records(CHANNEL, ts)
        answer = [r.visible_text for r in records if not r.text.startswith("Sources: ")]
        sources = [r.text for r in records if r.text.startswith("Sources: ")]
        assert answered_exactly_or_with_a_note(answer, defuse(case.text)), f"case {index}"
        assert len(sources) == bool(case.sources), f"case {index}"
        for line in sources:  # every "<" starts a link to the documents' host; names are escaped
            targets = [link.split("|", 1)[0] for link in line.split("<")[1:]]
            assert all(target.startswith(f"https://{SOURCE_HOST}/") for target in targets), f"case {index}: {line}"
