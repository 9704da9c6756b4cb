"""Rate limits: ten conversations streaming at once share the workspace's budgets without a single 429,
and a 429 that comes anyway is waited out (`Retry-After`) and the same text sent again.

What is asserted is the order of what Slack saw and counts of calls, not seconds: speed under load is the
benchmark's (`python -m bench`).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bench.drivers import timeline
from bridge.splitting import reassemble
from simulators.model_upstream import long_reply
from simulators.slack import BucketSpec, SlackSimulator
from simulators.slack.state import Message
from tests.adapters.slack.conftest import SlackBridge

ALICE = "U0ALICE"


async def test_ten_conversations_at_once_without_429(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    channels = [f"C0LOAD{i}" for i in range(5)]
    for channel in channels:
        sim.add_channel(channel, channel.lower())
    posted = await asyncio.gather(
        *(sim.user_mentions_app(channels[i % 5], ALICE, f"load {i} [[reply:1500]] [[rate:200]]") for i in range(10))
    )
    await slack_bridge.settle(timeout=40)

    assert sim.count_429() == 0
    firsts, finals = [], []
    continued = 0
    for i, message in enumerate(posted):
        texts = sim.bot_messages(message.channel, message.ts)
        assert reassemble(texts) == slack_bridge.reply_to(f"load {i} "), i
        # a reply whose end came as a new message (chat.update was spent) was cut between two words
        assert all(text[-1].isspace() for text in texts[:-1]), texts
        continued += len(texts) > 1
        records = sim.bot_message_records(message.channel, message.ts)
        versions = [v for r in records for v in sim.message_history(r.channel, r.ts)]
        firsts.append(min(v.at for v in versions))
        finals.append(max(v.at for v in versions))
    assert max(firsts) < min(finals), "every reply shows its first words before any reply is complete"
    methods = [c.method for c in sim.calls() if c.method.startswith("chat.")]
    counts = {m: methods.count(m) for m in sorted(set(methods))}
    # the ends do not all queue for chat.update (~1 a second for the workspace): some go on in a new message
    assert continued >= 1, counts

    # Replies that could not start a stream grow by chat.update; routine edits only use spare budget.
    assert counts["chat.update"] <= 2 * counts["chat.postMessage"]


async def test_a_429_waits_for_retry_after_and_sends_the_same_text_again(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(native_streaming=False)
    sim.config.rate_limits["chat.update"] = (BucketSpec(capacity=1, refill_per_s=0.5),)  # stricter than Tier 3
    posted = await sim.user_mentions_app("C0GENERAL", ALICE, "squeezed [[reply:1000]] [[rate:150]]")
    await slack_bridge.settle()

    assert sim.bot_messages("C0GENERAL", posted.ts) == [slack_bridge.reply_to("squeezed")]
    updates = sim.calls("chat.update")
    assert sim.count_429("chat.update") >= 1
    for refused, after in itertools.pairwise(updates):
        if refused.status == 429:  # waiting Retry-After is always enough: the very next call is accepted
            assert after.status == 200
            assert after.params["blocks"] == refused.params["blocks"], "the refused text is sent again"


def _fair_interval(sim: SlackSimulator, replies: int) -> float:
    """Seconds between two updates of each reply if the workspace's `chat.update` and `chat.appendStream`
    budgets were split evenly among `replies` (at Slack's 50 + 100 a minute, 8 s for 20 replies)."""
    per_second = sum(sim.config.rate_limits[m][0].refill_per_s for m in ("chat.update", "chat.appendStream"))
    return replies / per_second


def _shown_at(sim: SlackSimulator, records: list[Message]) -> list[float]:
    """When the reply's visible text changed, from the simulator's record of every version of its messages."""
    return [v.at for v in timeline((v.at, i, v.visible_text) for i, r in enumerate(records) for v in r.versions)]


@pytest.mark.slow
async def test_twenty_replies_at_once_share_every_budget(slack_bridge: SlackBridge) -> None:
    """Twenty answers of about 20 s start together. Slack's start budget (20 a minute) lets two of them
    stream at their first text; the rest are posted and share `chat.update` (50 a minute). As the start
    budget refills, posted replies go on as streams, and every reply gets its turn: none stands still for
    more than twice the fair interval, none shows half as many updates as another."""
    sim = slack_bridge.sim
    n = 20
    channels = [f"C0SHARE{i}" for i in range(n)]
    for channel in channels:
        sim.add_channel(channel, channel.lower())
    posted = await asyncio.gather(
        *(sim.user_mentions_app(channels[i], ALICE, f"share {i} [[reply:5000]] [[rate:40]]") for i in range(n))
    )
    answer = long_reply(5000, False)
    async with asyncio.timeout(90):  # the streams' stops may still queue for their budget: not waited for
        while any(reassemble(sim.bot_messages(m.channel, m.ts)) != answer for m in posted):
            await asyncio.sleep(0.2)

    assert sim.count_429() == 0
    updates, stalls, streamed = [], [], 0
    for message in posted:
        records = sim.bot_message_records(message.channel, message.ts)
        streamed += any(r.stream_started_at is not None for r in records)
        shown = _shown_at(sim, records)
        updates.append(len(shown))
        stalls.append(max(b - a for a, b in itertools.pairwise(shown)))
    assert streamed > 2, "replies become streams as the start budget refills"
    assert max(updates) <= 1.5 * min(updates), updates
    assert max(stalls) <= 2 * _fair_interval(sim, n), stalls


@pytest.mark.slow
async def test_a_workspace_that_allows_smaller_bursts_than_assumed_is_learned_from_its_429s(
    slack_bridge: SlackBridge,
) -> None:
    """Slack documents its tiers' rates, not their bursts. A workspace whose `chat.update` takes only two
    calls at once refuses the bridge's first bursts; each 429 halves the budget's burst, so the waves of
    answers that come later, each starting on a full budget, meet none (without the lesson: one 429 in
    every wave). Every text arrives."""
    sim = slack_bridge.sim
    await slack_bridge.restart(native_streaming=False)
    sim.config.rate_limits["chat.update"] = (BucketSpec(capacity=2, refill_per_s=50 / 60),)
    channels = [f"C0WAVE{i}" for i in range(4)]
    for channel in channels:
        sim.add_channel(channel, channel.lower())
    refused: list[int] = []
    for wave in range(4):
        before = sim.count_429("chat.update")
        posted = await asyncio.gather(
            *(
                sim.user_mentions_app(channel, ALICE, f"wave {wave}.{i} [[reply:400]] [[rate:40]]")
                for i, channel in enumerate(channels)
            )
        )
        await slack_bridge.settle(timeout=60)
        refused.append(sim.count_429("chat.update") - before)
        for i, message in enumerate(posted):
            assert reassemble(sim.bot_messages(message.channel, message.ts)) == slack_bridge.reply_to(
                f"wave {wave}.{i} "
            )
        await asyncio.sleep(3.0)  # both budgets fill up again before the next wave
    assert refused[0] >= 1, refused
    assert refused[2:] == [0, 0], refused  # 4.6 at once, halved twice: 2.3, then 2 (one beyond the reserve)
