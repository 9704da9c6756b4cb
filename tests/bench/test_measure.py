"""The benchmark's arithmetic on hand-made records: which replies the fairness figure counts, what a stall
is, and the fair interval the stall target is measured against."""

from __future__ import annotations

import math

from bench.measure import figures
from bench.records import Bucket, Conversation, Cost, Run, SharedBudget, Visible
from bench.report import ROWS

SLACK_BUDGET = SharedBudget("Slack chat.update + chat.appendStream", 150, 60.0, [])


def _reply(tag: str, times: list[float], *, streamed: bool = False, last_token_at: float = 30.0) -> Conversation:
    """A reply that showed a longer text at each of `times` (the last one its final text)."""
    timeline = [Visible(at, "word " * (i + 1)) for i, at in enumerate(times)]
    return Conversation(
        tag,
        asked_at=0.0,
        upstream_reply=timeline[-1].text,
        first_token_at=0.0,
        last_token_at=last_token_at,
        demand_per_s=1.0,
        timeline=timeline,
        messages=1,
        streamed=streamed,
    )


def _run(conversations: list[Conversation]) -> Run:
    return Run(
        platform="slack",
        n=len(conversations),
        reply_chars=100,
        tokens_per_second=50,
        first_token_delay=0.0,
        conversations=conversations,
        count_429=0,
        refused_for_length=0,
        budget=SLACK_BUDGET,
        cost=Cost(cpu_seconds=1.0, peak_rss_mb=50.0, bench_cpu_seconds=1.0, wall_seconds=40.0),
        timed_out=False,
    )


def test_fairness_counts_every_reply_natively_streamed_or_not() -> None:
    streamed = _reply("streamed", [float(t) for t in range(21)], streamed=True)
    posted = _reply("posted", [0.0, 15.0, 31.0])
    result = figures(_run([streamed, posted]))
    assert result.updates == (21, 3)
    assert result.streamed == 1


def test_the_longest_stall_includes_the_wait_for_the_final_text() -> None:
    """The gaps between updates stop at the upstream's last token; a stall does not: a reply whose end
    comes 10 s after its last update stood still for 10 s."""
    stalled = _reply("stalled", [0.0, 1.0, 2.0, 12.0], last_token_at=3.0)
    result = figures(_run([stalled, _reply("steady", [0.0, 1.0, 2.0, 3.0, 4.0])]))
    assert result.longest_stall == 10.0
    assert result.gap[1] < 2.0, "the gaps leave the final text out"


def test_the_fair_interval_is_the_replies_over_the_budgets_calls_per_second() -> None:
    """20 replies sharing 150 calls a minute: 7.5 a minute each, one every 8 s; a single reply still
    waits its own interval (1 s) between updates."""
    twenty = [_reply(f"r{i}", [0.0, 10.0]) for i in range(20)]
    assert figures(_run(twenty)).fair_interval == 8.0
    assert figures(_run(twenty[:1])).fair_interval == 1.0


def test_a_bucket_s_saved_up_calls_count_in_the_allowance_so_the_share_never_passes_100_percent() -> None:
    """Slack keeps its tiers as token buckets: a bucket full at the start of a binding stretch accepts its
    burst on top of the rate. A bridge that spends the burst and then every refill used all there was:
    100 %, not the 150 % the rate alone would make of it. A burst spent before the stretch (a warm-up) is
    not there to spend again."""
    calls = [0.1] * 5 + [0.5 + i for i in range(10)]  # a burst of 5, then one a second, all accepted
    bucket = Bucket(capacity=5, rate=1.0, calls=calls)
    budget = SharedBudget("one bucket", 60, 60.0, calls, [bucket])
    replies = [_reply(f"r{i}", [0.0, 10.0]) for i in range(3)]  # three replies want 3 a second: it binds
    run = _run(replies)
    run.budget = budget
    result = figures(run)
    assert result.budget_binds_for == 10.0
    assert result.budget_used == 1.0

    warmed = Bucket(capacity=5, rate=1.0, calls=[-0.5] * 5 + calls[5:])
    assert warmed.tokens_at(0.0) == 0.5
    run.budget = SharedBudget("one bucket", 60, 60.0, warmed.calls, [warmed])
    assert figures(run).budget_used == 10 / 10.5


def test_where_a_first_text_takes_another_budget_a_reply_asks_this_one_from_its_first_update() -> None:
    """A Slack reply's first text is a post or a stream start, not `chat.update` or `chat.appendStream`; its
    first update is due one interval (1 s) after it. Before then no reply can use those budgets, so that
    second is no part of the stretch where they bind. Discord's global limit serves the first post too:
    there a reply asks from its first token. A reply done within its first interval asks nothing."""
    calls = [1.5 + i for i in range(9)]  # one a second from the first updates on, all accepted
    bucket = Bucket(capacity=1, rate=1.0, calls=calls)
    replies = [_reply(f"r{i}", [0.5, 10.0]) for i in range(3)] + [_reply("quick", [0.5, 1.2])]
    run = _run(replies)
    run.budget = SharedBudget("one bucket", 60, 60.0, calls, [bucket], serves_first_text=False)
    result = figures(run)
    assert result.budget_binds_for == 10.0 - 1.5
    assert result.budget_used == 9 / 9.5  # its one saved-up call unused: a rate's 8.5 calls and the burst's 1

    run.budget = SharedBudget("one bucket", 60, 60.0, calls, [bucket])
    counted_from_first_token = figures(run)
    assert counted_from_first_token.budget_binds_for == 10.0
    assert counted_from_first_token.budget_used == 9 / 11


def test_the_wait_before_the_model_and_openwebui_s_cpu_are_reported_apart() -> None:
    """`asked → model asked` is the user's message to the upstream receiving the question (the bridge's and
    OpenWebUI's work before the model, where the two ways to run a turn differ); a real OpenWebUI's CPU is
    its own row, and the stand-in (in the benchmark's process) shows none."""
    early, late = _reply("early", [1.0, 2.0]), _reply("late", [1.5, 2.5])
    early.model_asked_at, late.model_asked_at = 0.25, 0.75
    stand_in = _run([early, late])
    result = figures(stand_in)
    assert result.asked_to_model == (0.5, 0.745)
    assert math.isnan(result.openwebui_cpu[0])
    real = _run([early, late])
    real.cost.openwebui_cpu_seconds = 10.0
    assert figures(real).openwebui_cpu == (10.0, 0.25)
    [before_model] = [row for row in ROWS if row.label.startswith("asked → model asked")]
    [owui] = [row for row in ROWS if row.label.startswith("OpenWebUI CPU")]
    assert before_model.value(result) == "0.50 / 0.74"
    assert owui.value(result) == "–" and owui.value(figures(real)) == "10.0 (25%)"
