"""What a turn asks of OpenWebUI besides its messages: tools, features, and the way to have them run.

With an API key the bridge streams in OpenWebUI's pass-through mode. There, under OpenWebUI 0.12's default
*native* function calling, a request's tools go to the model and the model's `tool_calls` come back
unexecuted; with `params.function_calling = "legacy"` OpenWebUI itself picks tools with its task model,
runs them and the web search before the completion, and streams the answer after a `sources` event
(`utils/middleware.py`: `chat_completion_tools_handler`, and the features block of `process_chat_payload`).
So a turn that uses tools or features asks for legacy calling.

What is in force at a place: the model's own defaults (its `toolIds` and `defaultFeatureIds`, as the web UI
applies them), changed by what admins switched on or off for the place (`/tools`, `/features`), plus what
the person asked for in this turn (a `!search` or `!image` prefix). The model's `defaultFilterIds` go along as the
request's `filter_ids`, as the web UI sends them: a filter that can be toggled (`toggle = True`) runs only
when named there (`utils/filter.resolve_filter_pipeline`); other filters of the model always run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.openwebui import FEATURES, Model

TURN_PREFIXES = {"!search": "web_search", "!image": "image_generation"}
"""A message starting with one of these asks for that feature in this turn only (the prefix is removed)."""

_ACTIVITIES = {
    "web_search": "Searching the web…",
    "image_generation": "Generating an image…",
    "code_interpreter": "Preparing the code interpreter…",
    "memory": "Reading memories…",
}


@dataclass(frozen=True, slots=True)
class TurnAsk:
    """A message's text without its prefix, and the features the prefix asked for."""

    text: str
    features: tuple[str, ...] = ()


def read_prefix(text: str) -> TurnAsk:
    """`!search what is new in Python?` → the question, with web search asked for; other text unchanged.
    A prefix alone (nothing after it) is a question of its own, kept as it is."""
    head, _, rest = text.lstrip().partition(" ")
    feature = TURN_PREFIXES.get(head.lower())
    if feature is None or not rest.strip():
        return TurnAsk(text)
    return TurnAsk(rest.strip(), (feature,))


def in_force(defaults: Iterable[str], switches: Mapping[str, bool], asked: Iterable[str] = ()) -> tuple[str, ...]:
    """The model's `defaults` that no switch turned off, then what switches turned on, then what was asked."""
    chosen = [name for name in defaults if switches.get(name, True)]
    chosen += [name for name, on in switches.items() if on and name not in chosen]
    chosen += [name for name in asked if name not in chosen]
    return tuple(chosen)


@dataclass(frozen=True, slots=True)
class Assistance:
    """The tools and features one turn uses, and what the request carries for them."""

    tool_ids: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    filter_ids: tuple[str, ...] = ()  # the model's toggleable filters that are on by default

    def request(self) -> dict[str, Any]:
        """The completion body's additions: nothing at all for a plain turn (today's request)."""
        body: dict[str, Any] = {}
        if self.tool_ids or self.features:
            body["params"] = {"function_calling": "legacy"}
        if self.tool_ids:
            body["tool_ids"] = list(self.tool_ids)
        if self.features:
            body["features"] = {name: True for name in self.features}
        if self.filter_ids:
            body["filter_ids"] = list(self.filter_ids)
        return body

    def activity(self, tool_names: Mapping[str, str]) -> str:
        """What the reply shows until the first words: what the bridge asked OpenWebUI to do ("" for a
        plain turn). `tool_names` names tools by id (an id stands for a tool OpenWebUI did not list)."""
        lines = [_ACTIVITIES[name] for name in self.features if name in _ACTIVITIES]
        if self.tool_ids:
            lines.append("Using tools: " + ", ".join(tool_names.get(t, t) for t in self.tool_ids) + "…")
        return " ".join(lines)


def assistance(
    model: Model | None, tools: Mapping[str, bool], features: Mapping[str, bool], asked: Iterable[str]
) -> Assistance:
    """What a turn with `model` uses, given the place's switches and the features the turn asked for."""
    return Assistance(
        in_force(model.tool_ids if model else (), tools),
        tuple(f for f in in_force(model.features if model else (), features, asked) if f in FEATURES),
        model.filter_ids if model else (),
    )
