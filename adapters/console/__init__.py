"""The console adapter: talk to the core from a terminal (`bridge chat`)."""

from adapters.console.adapter import CONSOLE, ConsoleAdapter, ConsoleSettings, ConsoleSurface

__all__ = ["CONSOLE", "ConsoleAdapter", "ConsoleSettings", "ConsoleSurface"]
