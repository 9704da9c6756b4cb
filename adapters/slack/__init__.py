"""Slack: mention the app and the answer streams into a thread; each thread is one OpenWebUI chat.

`SLACK` is the platform the core finds through the `openwebui_bridge.adapters` entry point.
"""

from adapters.slack.app import SlackAdapter
from adapters.slack.events import PLATFORM
from adapters.slack.settings import SlackSettings
from bridge.adapter import Platform

SLACK = Platform(PLATFORM, SlackSettings, SlackAdapter)

__all__ = ["SLACK", "SlackAdapter", "SlackSettings"]
