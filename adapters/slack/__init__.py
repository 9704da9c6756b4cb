"""Slack: mention the app and the answer streams into a thread; each thread is one OpenWebUI chat.

`SLACK` is the platform the core finds through the `openwebui_bridge.adapters` entry point; slack-bolt is
imported only when its adapter is created (`bridge.adapter.lazy`).
"""

from adapters.slack.settings import PLATFORM, SlackSettings
from bridge.adapter import Platform, lazy

SLACK = Platform(PLATFORM, SlackSettings, lazy("adapters.slack.app:SlackAdapter"))

__all__ = ["SLACK", "SlackSettings"]
