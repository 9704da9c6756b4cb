"""Knobs of the fake Slack: limits, rate budgets and delivery timing.

Every number Slack does not publish (the `chat.update` length ceiling, the stream lifetime, the burst sizes)
is a field here so a test can tighten it instead of waiting minutes, and so the defaults are written down in
one place with the reason they were chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["workspace", "channel"]


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """One token bucket: `capacity` calls at once, refilled at `refill_per_s` calls per second.

    scope "workspace" shares one bucket among all channels (Slack's tiers are per workspace per app);
    scope "channel" keeps one bucket per `channel` argument (chat.postMessage's ~1 message/s per channel).
    """

    capacity: float
    refill_per_s: float
    scope: Scope = "workspace"


def tier(per_minute: float, burst: float) -> BucketSpec:
    """A Slack tier as a workspace-wide bucket: `per_minute` sustained, `burst` at once."""
    return BucketSpec(capacity=burst, refill_per_s=per_minute / 60.0)


def default_rate_limits() -> dict[str, tuple[BucketSpec, ...]]:
    """Slack's published tiers for the methods a streaming bridge leans on; other methods are unlimited.

    chat.postMessage: ~1/s per channel with a short burst, plus a workspace ceiling (Slack: "several hundred
    per minute"). chat.update: Tier 3 (50/min). chat.startStream / chat.stopStream: Tier 2 (20/min).
    chat.appendStream: Tier 4 (100/min). Bursts are small on purpose: a bridge that is fine here is fine there.
    """
    return {
        "chat.postMessage": (
            BucketSpec(capacity=3, refill_per_s=1.0, scope="channel"),
            BucketSpec(capacity=30, refill_per_s=5.0, scope="workspace"),
        ),
        "chat.update": (tier(50, 5),),
        "chat.delete": (tier(50, 5),),
        "chat.startStream": (tier(20, 3),),
        "chat.stopStream": (tier(20, 3),),
        "chat.appendStream": (tier(100, 10),),
        "chat.postEphemeral": (tier(100, 10),),
        # Tier 3 each (docs.slack.dev: assistant.threads.setStatus, setSuggestedPrompts, setTitle)
        "assistant.threads.setStatus": (tier(50, 5),),
        "assistant.threads.setSuggestedPrompts": (tier(50, 5),),
        "assistant.threads.setTitle": (tier(50, 5),),
    }


DEFAULT_BOT_SCOPES: frozenset[str] = frozenset(
    {
        "app_mentions:read",
        "assistant:write",
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:read",
        "im:write",
        "reactions:write",
        "users:read",
    }
)


@dataclass(slots=True)
class SimConfig:
    """Behaviour switches of one `SlackSimulator`; mutable so a test can flip them mid-run.

    Text limits
      post_text_limit: `text` longer than this → `msg_too_long` on chat.postMessage (Slack: 40,000).
      update_text_limit: `text` longer than this → `msg_too_long` on chat.update, with or without blocks.
        Slack documents 40,000 but has been seen refusing edits near 4,000, so the fake takes the strict side.
      markdown_block_limit: one `markdown` block's text, and all markdown blocks of one payload together
        (Slack: 12,000) → `invalid_blocks`.
      section_text_limit: a section block's text, and each text of a context block (3,000, Block Kit's limit
        of a text object) → `invalid_blocks`. context_elements: 10 per context block. max_blocks: 50 per message.
      stream_text_limit: `markdown_text` (or one markdown_text chunk) per streaming call (12,000) → `msg_too_long`.
        A streamed message is one markdown block: appending past `markdown_block_limit` in all → `msg_too_long`
        (Slack does not document the total; the fake takes the strict side).
    Streaming
      streaming_error: when set (e.g. "not_allowed", "feature_not_enabled"), chat.startStream answers it.
      stream_lifetime: seconds after chat.startStream when Slack closes the stream (observed ~5 minutes);
        later appends/stops answer `message_not_in_streaming_state`.
      stream_recipients_required_in_dm: Slack documents recipient ids as needed only outside DMs; some
        report them needed in DMs too; switch on to test that stricter behaviour.
    Rate limits
      rate_limits: method → buckets (see `default_rate_limits`); a method absent here is unlimited.
    Delivery
      ack_timeout: seconds Slack waits for a Socket Mode ack or an HTTP 200 before retrying (3).
      max_retries: redeliveries of one event after the first attempt (Slack: 3).
      retry_delays: seconds to wait before redelivery n (Slack: ~0, 60, 300; shortened for tests).
      connect_wait: seconds an event waits for a Socket Mode connection before the attempt counts as failed.
      socket_seed: seeds the random choice of the Socket Mode connection each envelope goes to (several open).
      echo_bot_messages: deliver a `message` event for each message the bot posts (as Slack does when the app
        is subscribed to message.* events); the app must ignore its own messages.
    Slash commands
      response_url_uses / response_url_ttl: a slash command's response_url takes 5 posts within 30 minutes.
    """

    post_text_limit: int = 40_000
    update_text_limit: int = 4_000
    markdown_block_limit: int = 12_000
    section_text_limit: int = 3_000
    context_elements: int = 10
    max_blocks: int = 50
    stream_text_limit: int = 12_000
    streaming_error: str | None = None
    stream_lifetime: float = 300.0
    stream_recipients_required_in_dm: bool = False
    rate_limits: dict[str, tuple[BucketSpec, ...]] = field(default_factory=default_rate_limits)
    ack_timeout: float = 3.0
    max_retries: int = 3
    retry_delays: tuple[float, ...] = (0.0, 1.0, 5.0)
    connect_wait: float = 5.0
    socket_seed: int = 0
    echo_bot_messages: bool = True
    response_url_uses: int = 5
    response_url_ttl: float = 30 * 60.0
