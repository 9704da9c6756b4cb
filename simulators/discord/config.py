"""Knobs of the simulated Discord; defaults are Discord's documented or observed values."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulators.discord.ratelimit import RateLimitConfig

ALL_PRIVILEGED_INTENTS = frozenset({"members", "presences", "message_content"})


@dataclass
class SimulatorConfig:
    """How the simulated Discord behaves.

    ``privileged_intents`` are the ones "enabled in the developer portal": IDENTIFY asking for any other
    privileged intent is closed with 4014, as Discord does. ``max_edit_age`` (simulated seconds) is when
    editing a message starts failing with 30046; advance the simulated clock to get there quickly.
    """

    bot_name: str = "bridge-bot"
    token: str = "sim-bot-token"
    heartbeat_interval_ms: int = 41_250
    privileged_intents: frozenset[str] = ALL_PRIVILEGED_INTENTS
    ratelimits: RateLimitConfig = field(default_factory=RateLimitConfig)
    max_edit_age: float = 3600.0
    interaction_ack_timeout: float = 3.0
    interaction_token_lifetime: float = 900.0
    upload_size_limit: int = 10 * 1024 * 1024
    enforce_command_permissions: bool = True
