"""The benchmark's smallest run on each platform: the bridge as a process, one conversation, real records.

Timing targets are not asserted (a shared 2-core machine makes them flaky); what is asserted is that the
figures come from what the simulators and the upstream recorded: the reply arrived whole, was seen
growing, met no 429, and the bridge process's own CPU and memory were read.
"""

from __future__ import annotations

import math

import pytest

from bench import harness
from bench.harness import Plan, run
from bench.measure import figures
from simulators.model_upstream import long_reply


@pytest.mark.parametrize("platform", ["discord", "slack"])
async def test_one_conversation_is_measured_from_real_records(platform: str) -> None:
    recorded = await run(Plan(platform, 1, reply_chars=600, tokens_per_second=60, first_token_delay=0.1, time_cap=30))
    [conversation] = recorded.conversations
    assert conversation.upstream_reply == long_reply(600, False)
    assert conversation.final_text == conversation.upstream_reply
    assert len(conversation.timeline) >= 3, "the reply is seen growing, not only at the end"
    assert conversation.timeline[0].at >= conversation.first_token_at

    result = figures(recorded)
    assert result.correct == 1.0
    assert result.count_429 == 0
    assert result.refused_for_length == 0
    assert result.first_text[0] >= 0 and result.completion[1] >= 0, "measured from records, in their order"
    assert result.updates[0] == result.updates[1] == len(conversation.timeline)
    assert result.tokens == conversation.tokens > 50
    assert result.cpu_seconds > 0 and 20 < result.peak_rss_mb < 1000
    assert not math.isnan(result.cpu_ms_per_token)
    assert not recorded.timed_out


@pytest.mark.slow
@pytest.mark.contract
async def test_the_signed_in_mode_is_measured_on_a_real_openwebui(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--mode signed-in`: the bridge is given the service account's sign-in (so every turn runs the web UI's
    way) on a real OpenWebUI, and the reply comes over its socket, whole and growing."""
    given: list[dict[str, str]] = []
    make_env = harness._bridge_env
    monkeypatch.setattr(harness, "_bridge_env", lambda *args: given.append(make_env(*args)) or given[-1])
    plan = Plan("discord", 1, 600, 60, 0.1, time_cap=60, mode="signed-in")
    recorded = await run(plan)
    [env] = given
    assert env["OPENWEBUI_EMAIL"] and env["OPENWEBUI_PASSWORD"]
    [conversation] = recorded.conversations
    assert conversation.final_text == conversation.upstream_reply == long_reply(600, False)
    assert len(conversation.timeline) >= 3, "the reply is seen growing, not only at the end"
    assert figures(recorded).correct == 1.0 and not recorded.timed_out


@pytest.mark.parametrize("platform", ["discord", "slack"])
async def test_a_linked_run_answers_each_person_as_themselves(platform: str) -> None:
    """`--linked`: the two people (the measured one and the warm-up's) each have the chat in their own
    OpenWebUI history, none in the service account's, and the reply arrives whole."""
    plan = Plan(platform, 1, reply_chars=200, tokens_per_second=60, first_token_delay=0.1, time_cap=30, linked=True)
    recorded = await run(plan)
    assert recorded.chat_owners == 2
    [conversation] = recorded.conversations
    assert conversation.final_text == conversation.upstream_reply == long_reply(200, False)
    assert figures(recorded).label == "N=1 linked"
