"""The Discord adapter's settings: every `DISCORD_*` variable, its default and its validation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bridge.settings import ConfigError, IdList, PlatformSettings, split_ids

PLATFORM = "discord"
"""The platform's name: its entry point, its conversation keys and its log lines."""


class DiscordSettings(PlatformSettings):
    """The Discord bot; it runs when `DISCORD_BOT_TOKEN` is set."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_")

    bot_token: SecretStr = Field(SecretStr(""), description="the bot's token (Developer Portal > Bot); turns it on")
    reply_mode: Literal["thread", "channel"] = Field(
        "thread", description="thread: a mention opens a thread for the answer; channel: answers as a reply chain"
    )
    thread_archive_minutes: int = Field(
        1440, description="inactivity after which Discord hides a conversation thread: 60, 1440, 4320 or 10080"
    )
    edit_interval: float = Field(1.0, ge=0.2, le=10, description="seconds between two updates of a streaming reply")
    allow_dms: bool = Field(True, description="answer direct messages")
    allowed_guilds: IdList = Field([], description="servers allowed; empty: all")
    denied_guilds: IdList = Field([], description="servers refused, even when allowed")
    allowed_channels: IdList = Field([], description="channels or categories allowed; empty: all")
    denied_channels: IdList = Field(
        [], description="channels or categories refused, even when allowed (a thread follows its channel)"
    )
    allowed_roles: IdList = Field([], description="roles allowed (with allowed_users: either one); empty: all")
    denied_roles: IdList = Field([], description="roles refused, even when allowed")
    allowed_users: IdList = Field([], description="users allowed (with allowed_roles: either one); empty: all")
    denied_users: IdList = Field([], description="users refused, even when allowed")
    admin_users: IdList = Field([], description="users who may change settings; both admin lists empty: Manage Server")
    admin_roles: IdList = Field([], description="roles whose members may change settings")
    api_url: str = Field("https://discord.com/api/v10", description="Discord's REST API base (a proxy, or a test fake)")
    gateway_url: str = Field("wss://gateway.discord.gg/", description="Discord's gateway URL (a proxy, or a test fake)")
    shard_count: int | None = Field(
        None, ge=1, description="shards the bot is split into, across every process; unset: no sharding"
    )
    shard_ids: Annotated[list[int], NoDecode] = Field(
        [], description="the shards this process runs (comma-separated, each below shard_count); empty: all"
    )

    _split = field_validator(
        "allowed_guilds",
        "denied_guilds",
        "allowed_channels",
        "denied_channels",
        "allowed_roles",
        "denied_roles",
        "allowed_users",
        "denied_users",
        "admin_users",
        "admin_roles",
        mode="before",
    )(split_ids)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> object:
        return split_ids(value)

    @field_validator("shard_count", mode="before")
    @classmethod
    def _empty_count(cls, value: object) -> object:
        """`DISCORD_SHARD_COUNT=` (left empty, as in .env.example) means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids")
    @classmethod
    def _distinct_shard_ids(cls, value: list[int]) -> list[int]:
        if any(shard < 0 for shard in value):
            raise ValueError("shard ids start at 0")
        if len(set(value)) != len(value):
            raise ValueError("a shard id is given twice")
        return sorted(value)

    @field_validator("thread_archive_minutes")
    @classmethod
    def _archive_minutes(cls, value: int) -> int:
        if value not in (60, 1440, 4320, 10080):
            raise ValueError("must be 60, 1440, 4320 or 10080 (minutes Discord offers)")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. https://discord.com/api/v10)")
        return value

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss:// (e.g. wss://gateway.discord.gg/)")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())

    @property
    def shards(self) -> tuple[list[int], int] | None:
        """This process's shard ids and the total, or None when the bot is not sharded (one connection)."""
        if self.shard_count is None:
            return None
        return self.shard_ids or list(range(self.shard_count)), self.shard_count

    def check(self) -> None:
        """Shard ids only mean something against a count, and each must be below it (Discord closes the
        connection of an IDENTIFY with an invalid shard, 4010)."""
        if self.shard_ids and self.shard_count is None:
            raise ConfigError("DISCORD_SHARD_COUNT: missing; DISCORD_SHARD_IDS needs the total number of shards")
        too_high = [shard for shard in self.shard_ids if self.shard_count is not None and shard >= self.shard_count]
        if too_high:
            raise ConfigError(
                f"DISCORD_SHARD_IDS: shard {too_high[0]} does not exist with DISCORD_SHARD_COUNT={self.shard_count} "
                f"(ids go from 0 to {self.shard_count - 1})"
            )
