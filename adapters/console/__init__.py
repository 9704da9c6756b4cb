"""The console adapter: talk to the engine from a terminal (`bridge chat`)."""

from adapters.console.adapter import ConsoleChat

__all__ = ["ConsoleChat"]
