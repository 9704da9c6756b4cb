"""pytest fixtures for the Slack simulator.

Load with ``pytest_plugins = ["simulators.slack.pytest_plugin"]`` (tests/conftest.py does), as the Discord
simulator's are loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from .fixtures import fast_config
from .server import SlackSimulator


@pytest.fixture
async def slack_sim() -> AsyncIterator[SlackSimulator]:
    """A started simulator with `fast_config()`."""
    async with SlackSimulator(config=fast_config()) as sim:
        yield sim


@pytest.fixture
def slack_sim_client(slack_sim: SlackSimulator) -> AsyncWebClient:
    """An `AsyncWebClient` with the bot token, pointed at the simulator."""
    return AsyncWebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url)
