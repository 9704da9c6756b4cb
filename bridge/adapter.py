"""The adapter contract: what a platform gives the core, and how the core finds platforms.

A platform is a `Platform` value published under the Python entry point group `openwebui_bridge.adapters`
(see pyproject.toml: `console`, `discord`, `slack`). So the core imports no adapter, and a platform in
another package plugs in by declaring an entry point, without a change here. `bridge run` starts every
platform whose settings are present (`PlatformSettings.enabled`); `bridge chat` starts the console.

The life of an adapter, driven by `bridge.runner`:
1. `Platform.create(core, settings)`: the adapter gets the core's facade and its own settings, nothing else.
2. `start()`: connect; return once messages can flow (raise `ConfigError` or `UserFacingError` with one
   sentence when the platform refuses, e.g. a bad token).
3. The runner closes the turns an earlier process left open on this platform, through
   `mark_interrupted` (the adapter shows the note where the answer was).
4. `ready()` answers `/readyz` while it runs; `wait_closed()` returns (or raises) if the connection ends
   by itself.
5. `stop(grace)`: take no new messages, give work in progress `grace` seconds (`BackgroundTasks.drain`),
   disconnect. Called once, also after a failed start.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from bridge.messages import InterruptedTurn
from bridge.settings import PlatformSettings

if TYPE_CHECKING:
    from bridge.core import Core

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "openwebui_bridge.adapters"


class Adapter(Protocol):
    """One platform connection (see the module docstring for the order of calls)."""

    async def start(self) -> None: ...

    def ready(self) -> bool: ...

    async def wait_closed(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        """Show `note` where the interrupted answer was (its last message, else its conversation) and return
        the texts of the answer's messages that are still there, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class Platform:
    """What an entry point names: the platform's name, its settings class, and how to make its adapter."""

    name: str
    settings: type[PlatformSettings]
    create: Callable[[Core, Any], Adapter]
    """Called with the core and an instance of `settings`."""


def lazy(target: str) -> Callable[[Core, Any], Adapter]:
    """A `Platform.create` that imports `target` ("module:Class") only when the adapter is made: loading the
    entry point then costs only the settings, and a bridge running one platform never imports the others'
    libraries (importing discord.py and slack-bolt for nothing cost 5-6 MB of RSS)."""

    def create(core: Core, settings: Any) -> Adapter:
        module, _, name = target.partition(":")
        adapter_class = getattr(importlib.import_module(module), name)
        return adapter_class(core, settings)  # type: ignore[no-any-return]

    return create


_registered: dict[str, Platform] = {}


def register(platform: Platform) -> None:
    """Add a platform without an entry point (tests, or a program embedding the bridge)."""
    _registered[platform.name] = platform


def unregister(name: str) -> None:
    _registered.pop(name, None)


def platforms() -> dict[str, Platform]:
    """Every platform installed (entry points) or registered, by name; a broken entry point is logged and
    left out, so one bad plug-in does not stop the others."""
    found: dict[str, Platform] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            platform = point.load()
        except Exception as exc:
            log.error("platform %s (%s) could not be loaded: %s", point.name, point.value, exc)
            continue
        if not isinstance(platform, Platform):
            log.error("entry point %s (%s) is not a bridge.adapter.Platform", point.name, point.value)
            continue
        found[platform.name] = platform
    return {**found, **_registered}
