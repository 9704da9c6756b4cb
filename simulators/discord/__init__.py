"""A fake Discord (REST + gateway) on loopback for tests and the benchmark; see :class:`DiscordSimulator`."""

from simulators.discord.config import SimulatorConfig
from simulators.discord.errors import SimUsageError
from simulators.discord.models import (
    ChannelType,
    MessageVersion,
    Permission,
    Ping,
    SimAttachment,
    SimChannel,
    SimFile,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimRole,
    SimUser,
)
from simulators.discord.ratelimit import MESSAGES_SHARE_ONE_BUDGET, RateLimitConfig, RouteLimit, SharedLimit
from simulators.discord.records import CallRecord
from simulators.discord.seams import point_discord_py_at
from simulators.discord.server import BasicWorld, DiscordSimulator, mention

__all__ = [
    "MESSAGES_SHARE_ONE_BUDGET",
    "BasicWorld",
    "CallRecord",
    "ChannelType",
    "DiscordSimulator",
    "MessageVersion",
    "Permission",
    "Ping",
    "RateLimitConfig",
    "RouteLimit",
    "SharedLimit",
    "SimAttachment",
    "SimChannel",
    "SimFile",
    "SimGuild",
    "SimInteraction",
    "SimMessage",
    "SimRole",
    "SimUsageError",
    "SimUser",
    "SimulatorConfig",
    "mention",
    "point_discord_py_at",
]
