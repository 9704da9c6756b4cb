"""After an answer: OpenWebUI's title, tags and follow-up suggestions for the chat, as its web UI gets them.

A turn with an API key streams in OpenWebUI's pass-through mode, in which OpenWebUI generates none of them.
The tasks API makes the same calls its own pipeline does (`utils/middleware.py`, `background_tasks_handler`):
a title and tags after a chat's first answer, follow-up suggestions after every answer, each parsed the way
OpenWebUI parses it (the JSON object in the task model's text). The title and tags go on the chat, the
suggestions on the answer (`followUps`, where the web UI shows them), and the surface is told: the title names
the platform's conversation where the bridge owns it, the suggestions are the adapter's to offer.

They run in the background, after the answer's final text is shown, so a slow task model never holds up a
turn nor the conversation's next message. Each task is the admin's to turn on (Admin → Settings → Interface);
a task that is off answers without a result, and is then left alone for `OFF_FOR` seconds instead of being
asked after every answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.openwebui import AfterAnswer, OpenWebUIClient, errors
from bridge.surface import ReplySurface
from bridge.tasks import BackgroundTasks

log = logging.getLogger(__name__)

OFF_FOR = 300.0
"""Seconds a task OpenWebUI answered as turned off is not asked again."""
MAX_FOLLOW_UPS = 5
FOLLOW_UP_CHARS = 400  # OpenWebUI's own bounds (`utils/task.py`, `parse_follow_ups`)
MAX_TAGS = 10
TITLE_CHARS = 200
PIPELINE_SECONDS = 120.0
"""How long after an answer the bridge listens for the title and follow-ups OpenWebUI's own pipeline makes
(signed-in way): its task model answers them one after the other, under load slowly."""


@dataclass(frozen=True, slots=True)
class Answered:
    """A finished answer, as the tasks need it.

    turn_id: the turn's row in the store (what the platform's follow-up buttons name).
    messages: the chat's chain as a completion's messages, the answer last.
    answer: the assistant message as stored in the chat (its `followUps` are added to it).
    first: the chat's first answer (a title and tags are made only then, as the web UI does).
    """

    chat_id: str
    turn_id: int
    model: str
    messages: list[dict[str, Any]]
    answer: dict[str, Any]
    first: bool


class ChatTasks:
    """Runs the tasks of each answer in `tasks`, the engine's background work."""

    def __init__(
        self, client: OpenWebUIClient, tasks: BackgroundTasks, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._tasks = tasks
        self._clock = clock
        self._off_until: dict[str, float] = {}

    def after(self, answered: Answered, surface: ReplySurface) -> None:
        """Start the tasks of `answered`; returns at once."""
        self._tasks.spawn(self.run(answered, surface), name=f"chat-tasks-{answered.chat_id}")

    async def run(self, answered: Answered, surface: ReplySurface) -> None:
        """Title and tags (first answer only), then follow-ups; a failing task is logged and the next runs."""
        if answered.first:
            await self._quietly(self._title(answered, surface), "title")
            await self._quietly(self._tags(answered), "tags")
        await self._quietly(self._follow_ups(answered, surface), "follow-ups")

    def relay(self, later: AfterAnswer, surface: ReplySurface, turn_id: int, *, first: bool) -> None:
        """On the signed-in way OpenWebUI's own pipeline makes the title and follow-ups, and stores them: the
        surface is told when they arrive, as after this class's own tasks; returns at once."""
        self._tasks.spawn(self._relay(later, surface, turn_id, first), name="pipeline-extras")

    async def _relay(self, later: AfterAnswer, surface: ReplySurface, turn_id: int, first: bool) -> None:
        extras = await later.wait(PIPELINE_SECONDS)
        title = _title_text(extras.title)
        if first and title:
            await self._quietly(surface.set_title(title), "title")
        follow_ups = _strings(list(extras.follow_ups), MAX_FOLLOW_UPS, FOLLOW_UP_CHARS)
        if follow_ups:
            await self._quietly(surface.show_followups(turn_id, follow_ups), "follow-ups")

    async def _title(self, answered: Answered, surface: ReplySurface) -> None:
        title = _title_text(_json_object(await self._ask("title", answered)).get("title"))
        if not title:
            return
        await self._client.set_chat_title(answered.chat_id, title)
        await surface.set_title(title)

    async def _tags(self, answered: Answered) -> None:
        found = _json_object(await self._ask("tags", answered)).get("tags")
        names = _strings(found, MAX_TAGS, TITLE_CHARS)
        for name in names:
            if name.lower() != "none":  # OpenWebUI refuses a tag named "none"
                await self._client.add_chat_tag(answered.chat_id, name)

    async def _follow_ups(self, answered: Answered, surface: ReplySurface) -> None:
        found = _json_object(await self._ask("follow_up", answered)).get("follow_ups")
        follow_ups = _strings(found, MAX_FOLLOW_UPS, FOLLOW_UP_CHARS)
        if not follow_ups:
            return
        message = {**answered.answer, "followUps": follow_ups}
        await self._client.update_chat(answered.chat_id, {"history": {"messages": {message["id"]: message}}})
        await surface.show_followups(answered.turn_id, follow_ups)

    async def _ask(self, kind: str, answered: Answered) -> str:
        """The task model's text for task `kind`; "" when the task is off (remembered for `OFF_FOR`)."""
        if self._off_until.get(kind, 0.0) > self._clock():
            return ""
        text = await self._client.task(kind, answered.model, answered.messages, answered.chat_id)
        if text is None:
            log.info("OpenWebUI's %s task is turned off; not asking again for %.0f s", kind, OFF_FOR)
            self._off_until[kind] = self._clock() + OFF_FOR
            return ""
        return text

    @staticmethod
    async def _quietly(work: Any, what: str) -> None:
        """A task is a courtesy: its failure is logged, never shown, and never stops the others."""
        try:
            await work
        except errors.OpenWebUIError as exc:
            log.warning("OpenWebUI %s for a chat failed: %s", what, exc)
        except Exception:
            log.exception("%s after an answer failed", what)


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object in a task model's text (from its first `{` to its last `}`, as OpenWebUI reads it)."""
    try:
        found = json.loads(text[text.find("{") : text.rfind("}") + 1])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _title_text(found: Any) -> str:
    """A title on one line, within `TITLE_CHARS`; "" for another shape."""
    return " ".join(found.split())[:TITLE_CHARS] if isinstance(found, str) else ""


def _strings(value: Any, most: int, longest: int) -> list[str]:
    """Distinct non-empty strings of a task's list, each at most `longest` characters; [] for another shape."""
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        text = " ".join(item.split()) if isinstance(item, str) else ""
        if text and len(text) <= longest and text not in out:
            out.append(text)
    return out[:most]
