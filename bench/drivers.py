"""One driver per platform: its simulator, the bridge's settings for it, and how to read a reply back.

A driver acts as the platform's users would (a mention per conversation, each in a thread of its own) and
reads what those users saw, version by version, from the simulator's records. The simulators run with
their default, realistic rate limits (`../shared/docs/platforms.md`); nothing here loosens them, and
`--hidden-limits` tightens Discord's with a budget its headers do not announce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.records import Bucket, SharedBudget, Visible
from bridge.splitting import reassemble
from simulators.discord import (
    MESSAGES_SHARE_ONE_BUDGET,
    DiscordSimulator,
    RateLimitConfig,
    SimChannel,
    SimMessage,
    SimulatorConfig,
    SimUser,
)
from simulators.slack import SlackSimulator

MAX_CHANNELS = 20
"""Conversations are spread over at most this many channels, as people talk in several channels at once."""

EDIT_INTERVAL = 1.0
"""The bridge's default seconds between updates of one reply (`DISCORD_EDIT_INTERVAL`, Slack's fixed 1 s)."""


def timeline(versions: Iterable[tuple[float, int, str]]) -> list[Visible]:
    """The reply's visible text over time from every version of its messages, `(at, message index, text)`.

    At each moment the reply shows the newest version of each of its messages; joined with `reassemble`
    they give the text a reader sees. Moments that change nothing (an embed added) and moments with no
    text yet (a stream opened empty) are left out.
    """
    current: dict[int, str] = {}
    out: list[Visible] = []
    for at, index, text in sorted(versions):
        current[index] = text
        joined = reassemble([current[i] for i in sorted(current)])
        if not joined.strip():
            continue
        if out and out[-1].at == at:
            out[-1] = Visible(at, joined)
        elif not out or out[-1].text != joined:
            out.append(Visible(at, joined))
    return out


class Driver(Protocol):
    """What the harness needs of a platform."""

    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def bridge_env(self) -> dict[str, str]: ...
    async def wait_connected(self, timeout: float) -> None: ...
    def connections(self) -> int: ...
    async def prepare(self, n: int) -> None: ...
    def user_ids(self) -> list[str]: ...
    async def ask(self, index: int, text: str) -> object: ...
    async def warm_up(self, text: str) -> object: ...
    @property
    def warm_up_pause(self) -> float: ...
    def timeline(self, handle: Any) -> list[Visible]: ...
    def demand_per_s(self, handle: Any) -> float: ...
    def messages(self, handle: Any) -> int: ...
    def streamed(self, handle: Any) -> bool: ...
    def count_429(self) -> int: ...
    def refused_for_length(self) -> int: ...
    def budget(self) -> SharedBudget: ...


class DiscordDriver:
    """Discord: each conversation is a mention in a channel; the bridge answers in a thread it opens."""

    name = "discord"
    warm_up_pause = 1.5
    """Seconds after the warm-up: the global window (1 s) is over; its thread's buckets are its own."""

    def __init__(self, *, hidden_limits: bool = False) -> None:
        """`hidden_limits`: posts and edits in one channel (each thread) also draw on one hidden 5 per 5 s,
        refused with `X-RateLimit-Scope: shared` while each route's headers show room."""
        hidden = MESSAGES_SHARE_ONE_BUDGET if hidden_limits else None
        self.sim = DiscordSimulator(SimulatorConfig(ratelimits=RateLimitConfig(hidden_shared=hidden)))
        self._channels: list[SimChannel] = []
        self._users: list[SimUser] = []

    async def start(self) -> None:
        await self.sim.start()
        self._guild = await self.sim.create_guild("Bench")
        self._lobby = await self.sim.create_text_channel(self._guild, "warm-up")

    async def stop(self) -> None:
        await self.sim.stop()

    def bridge_env(self) -> dict[str, str]:
        return {
            "DISCORD_BOT_TOKEN": self.sim.token,
            "DISCORD_API_URL": self.sim.rest_base,
            "DISCORD_GATEWAY_URL": self.sim.gateway_url,
        }

    async def wait_connected(self, timeout: float) -> None:
        await self.sim.wait_for_bot_connected(timeout)

    def connections(self) -> int:
        """Live gateway sessions: one per bridge process (each gets every message; the store picks who answers)."""
        return len(self.sim.gateway.live_sessions())

    async def prepare(self, n: int) -> None:
        for i in range(len(self._channels), min(n, MAX_CHANNELS)):
            self._channels.append(await self.sim.create_text_channel(self._guild, f"room-{i}"))
        for i in range(len(self._users), n):
            user = await self.sim.create_user(f"user{i}")
            await self.sim.add_member(self._guild, user)
            self._users.append(user)

    def user_ids(self) -> list[str]:
        """The prepared users' ids as the bridge sees them (`--linked` links each one)."""
        return [str(user.id) for user in self._users]

    async def ask(self, index: int, text: str) -> SimMessage:
        channel = self._channels[index % len(self._channels)]
        return await self.sim.user_says(channel, self._users[index], text, mentions_bot=True)

    async def warm_up(self, text: str) -> SimMessage:
        """A question in a channel of its own, by the last prepared user (one no conversation uses)."""
        return await self.sim.user_says(self._lobby, self._users[-1], text, mentions_bot=True)

    def timeline(self, handle: SimMessage) -> list[Visible]:
        thread = self.sim.thread_of(handle)
        if thread is None:
            return []
        messages = self.sim.bot_messages(thread, include_ephemeral=False)
        return timeline((v.at_monotonic, i, v.content) for i, m in enumerate(messages) for v in m.versions)

    def demand_per_s(self, handle: SimMessage) -> float:
        return 1.0 / EDIT_INTERVAL

    def messages(self, handle: SimMessage) -> int:
        thread = self.sim.thread_of(handle)
        return 0 if thread is None else len(self.sim.bot_messages(thread, include_ephemeral=False))

    def streamed(self, handle: SimMessage) -> bool:
        return False

    def count_429(self) -> int:
        return self.sim.count_429()

    def refused_for_length(self) -> int:
        """Posts and edits Discord refused as an invalid form (50035: content over 2,000 characters)."""
        return sum(
            1
            for c in self.sim.calls()
            if c.route.startswith(("POST /channels", "PATCH /channels")) and c.error_code == 50035
        )

    def budget(self) -> SharedBudget:
        """Discord's global limit: 50 requests a second per bot, every REST call but interaction replies."""
        limits = self.sim.config.ratelimits
        calls = [c.at_monotonic for c in self.sim.calls() if c.status != 429 and not c.path.endswith("/gateway")]
        return SharedBudget("Discord global", limits.global_limit, limits.global_per, calls)


@dataclass(frozen=True, slots=True)
class SlackPlace:
    """Where a Slack reply is read: a channel and thread (None: a DM's top level)."""

    channel: str
    thread_ts: str | None


class SlackDriver:
    """Slack: each conversation is an @-mention in a channel; the bridge answers in its thread."""

    name = "slack"
    _LENGTH_ERRORS = frozenset({"msg_too_long", "invalid_blocks"})
    warm_up_pause = 3.0
    """Seconds after the warm-up for the `chat.update` burst its final edit took to refill (45/min)."""

    def __init__(self) -> None:
        self.sim = SlackSimulator()
        self._channels: list[str] = []
        self._users: list[str] = []

    async def start(self) -> None:
        await self.sim.start()

    async def stop(self) -> None:
        await self.sim.stop()

    def bridge_env(self) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": self.sim.bot_token,
            "SLACK_APP_TOKEN": self.sim.app_token,
            "SLACK_API_URL": self.sim.api_url,
            "SLACK_MODE": "socket",
        }

    async def wait_connected(self, timeout: float) -> None:
        await self.sim.wait_socket_connected(timeout)

    def connections(self) -> int:
        """Open Socket Mode connections: one per bridge process."""
        return len(self.sim.socket.connections)

    async def prepare(self, n: int) -> None:
        for i in range(len(self._users), n):
            user = f"U0BENCH{i}"
            self.sim.add_user(user, f"user{i}")
            self._users.append(user)
        for i in range(len(self._channels), min(n, MAX_CHANNELS)):
            channel = f"C0ROOM{i}"
            self.sim.add_channel(channel, f"room-{i}")
            self._channels.append(channel)

    def user_ids(self) -> list[str]:
        return list(self._users)

    async def ask(self, index: int, text: str) -> SlackPlace:
        channel = self._channels[index % len(self._channels)]
        posted = await self.sim.user_mentions_app(channel, self._users[index], text)
        return SlackPlace(channel, posted.reply_thread_ts)

    async def warm_up(self, text: str) -> SlackPlace:
        """A DM from the last prepared user: answered at the DM's top level, so it takes no stream start
        from the workspace's Tier 2 budget that the measured replies start with."""
        posted = await self.sim.user_dm(self._users[-1], text)
        return SlackPlace(posted.channel, None)

    def timeline(self, handle: SlackPlace) -> list[Visible]:
        records = self.sim.bot_message_records(handle.channel, handle.thread_ts)
        return timeline((v.at, i, v.visible_text) for i, m in enumerate(records) for v in m.versions)

    def demand_per_s(self, handle: SlackPlace) -> float:
        """Every reply wants an update a second: a `chat.update` of a posted message, or a
        `chat.appendStream` to a native stream."""
        return 1.0 / EDIT_INTERVAL

    def messages(self, handle: SlackPlace) -> int:
        return len(self.sim.bot_message_records(handle.channel, handle.thread_ts))

    def streamed(self, handle: SlackPlace) -> bool:
        records = self.sim.bot_message_records(handle.channel, handle.thread_ts)
        return any(record.stream_started_at is not None for record in records)

    def count_429(self) -> int:
        return self.sim.count_429()

    def refused_for_length(self) -> int:
        return sum(1 for c in self.sim.calls() if c.method.startswith("chat.") and c.error in self._LENGTH_ERRORS)

    def budget(self) -> SharedBudget:
        """The budgets that grow a reply's text, for the whole workspace: `chat.update` (Tier 3, 50 a minute)
        for posted messages and `chat.appendStream` (Tier 4, 100 a minute) for native streams, each a token
        bucket in the simulator as Slack's tiers allow bursts. A reply's first text is a post or a stream start,
        on other budgets."""
        buckets = []
        for method in ("chat.update", "chat.appendStream"):
            [spec] = self.sim.config.rate_limits[method]
            accepted = sorted(c.at for c in self.sim.calls(method) if c.status != 429)
            buckets.append(Bucket(spec.capacity, spec.refill_per_s, accepted))
        calls = sorted(at for bucket in buckets for at in bucket.calls)
        per_minute = sum(bucket.rate * 60 for bucket in buckets)
        return SharedBudget(
            "Slack chat.update + chat.appendStream", per_minute, 60.0, calls, buckets, serves_first_text=False
        )


DRIVERS: dict[str, type[DiscordDriver] | type[SlackDriver]] = {"discord": DiscordDriver, "slack": SlackDriver}
