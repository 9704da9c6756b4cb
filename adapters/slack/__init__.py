"""Slack: mention the app and the answer streams into a thread; each thread is one OpenWebUI chat.

`SLACK` is the platform the core finds through the `openwebui_bridge.adapters` entry point. Loading it
imports only the settings: slack-bolt is imported when the adapter is created, so a bridge that runs only
Discord (or the terminal chat) does not carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.slack.settings import PLATFORM, SlackSettings
from bridge.adapter import Platform

if TYPE_CHECKING:
    from adapters.slack.app import SlackAdapter
    from bridge.core import Core


def create(core: Core, settings: SlackSettings) -> SlackAdapter:
    from adapters.slack.app import SlackAdapter

    return SlackAdapter(core, settings)


SLACK = Platform(PLATFORM, SlackSettings, create)

__all__ = ["SLACK", "SlackSettings"]
