"""Slack: mention the app and the answer streams into a thread; each thread is one OpenWebUI chat.

`run_slack(core)` is what `bridge run` calls; `SlackAdapter` is the same thing with `start()`/`stop()`
for tests and embedding.
"""

from adapters.slack.app import SlackAdapter, run_slack

__all__ = ["SlackAdapter", "run_slack"]
