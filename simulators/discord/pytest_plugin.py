"""pytest fixtures for the Discord simulator.

Load with ``pytest_plugins = ["simulators.discord.pytest_plugin"]`` in a test module. Override
``discord_sim_config`` in a module to change limits or intents for its tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulators.discord.config import SimulatorConfig
from simulators.discord.server import BasicWorld, DiscordSimulator


@pytest.fixture
def discord_sim_config() -> SimulatorConfig:
    """Discord's defaults; override this fixture to change them."""
    return SimulatorConfig()


@pytest.fixture
async def discord_sim(discord_sim_config: SimulatorConfig) -> AsyncIterator[DiscordSimulator]:
    """A started simulator with discord.py pointed at it for the duration of the test."""
    async with DiscordSimulator(discord_sim_config) as sim:
        with sim.patch_discord():
            yield sim


@pytest.fixture
async def discord_sim_world(discord_sim: DiscordSimulator) -> BasicWorld:
    """A guild with ``#general`` and a member ``alice`` in ``discord_sim``."""
    return await discord_sim.create_basic_world()
