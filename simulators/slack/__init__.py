"""A fake Slack for tests and the benchmark: Web API, Socket Mode and signed HTTP delivery on loopback."""

from .config import BucketSpec, SimConfig, default_rate_limits, tier
from .server import Ping, SimFile, SlackSimulator, UserMessage
from .slash import ResponsePost, SlashInvocation

__all__ = [
    "BucketSpec",
    "Ping",
    "ResponsePost",
    "SimConfig",
    "SimFile",
    "SlackSimulator",
    "SlashInvocation",
    "UserMessage",
    "default_rate_limits",
    "tier",
]
