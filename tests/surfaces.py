"""A reply surface that records what a user would see, for core tests without a platform."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bridge.splitting import reassemble
from bridge.surface import EditDeferred, Grant, Operation, OutgoingFile, Source, SurfaceExtras, SurfaceLimits


@dataclass
class Op:
    at: float
    kind: str
    message_id: str
    text: str


@dataclass
class RecordingSurface(SurfaceExtras):
    """Posts and edits land in `messages`; `ops` keeps every call with its time (the event loop's clock:
    virtual under `tests.clock.in_virtual_time`). `fail_edits_of` refuses
    the edits of those messages, `fail_posts` the next posts; `defer_final_edits` defers final edits that
    add text, as Slack's does when its update budget is spent; `move_routine_edits_of` defers the routine
    edits of those messages that add text with a grant for the new message, as Slack's does when its
    scheduler hands a reply a stream start. Every call must bring a grant this surface handed out and no
    call used before: one wait pays for one call."""

    limits: SurfaceLimits = field(default_factory=lambda: SurfaceLimits(max_chars=2000, min_edit_interval=0.05))
    pace_delay: float = 0.0
    fail_edits_of: set[str] = field(default_factory=set)
    fail_posts: int = 0
    defer_final_edits: bool = False
    move_routine_edits_of: set[str] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    progress_shown: int = 0
    activities: list[str] = field(default_factory=list)
    closed: int = 0
    paced: list[tuple[Operation, bool]] = field(default_factory=list)
    max_upload_bytes: int = 10 * 1024 * 1024
    files: list[OutgoingFile] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    followups: list[list[str]] = field(default_factory=list)
    _unused: list[Grant] = field(default_factory=list)

    async def show_progress(self, activity: str = "") -> None:
        self.progress_shown += 1
        if activity:
            self.activities.append(activity)

    async def pace(self, op: Operation, final: bool) -> Grant:
        self.paced.append((op, final))
        if self.pace_delay:
            await asyncio.sleep(self.pace_delay)
        grant = Grant(op, final)
        self._unused.append(grant)
        return grant

    def _spend(self, grant: Grant) -> None:
        index = next((i for i, unused in enumerate(self._unused) if unused is grant), None)
        assert index is not None, f"{grant} was not handed out by pace, or was used already"
        del self._unused[index]

    async def post(self, text: str, grant: Grant) -> str:
        text = self.limits.render(text)  # as a platform's surface does before sending
        assert text and len(text) <= self.limits.max_chars, f"bad post of {len(text)} chars"
        self._spend(grant)
        if self.fail_posts:
            self.fail_posts -= 1
            raise RuntimeError("post refused")
        message_id = f"m{len(self.messages) + 1}"
        self.messages[message_id] = text
        self.ops.append(Op(asyncio.get_running_loop().time(), "post", message_id, text))
        return message_id

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        text = self.limits.render(text)
        assert text and len(text) <= self.limits.max_chars, f"bad edit of {len(text)} chars"
        self._spend(grant)
        if message_id in self.fail_edits_of:
            raise RuntimeError(f"edit of {message_id} refused")
        if self.defer_final_edits and grant.final and text.startswith(self.messages[message_id]):
            raise EditDeferred
        if message_id in self.move_routine_edits_of and not grant.final and text.startswith(self.messages[message_id]):
            moved = Grant("post", False)
            self._unused.append(moved)
            raise EditDeferred(moved)
        self.messages[message_id] = text
        self.ops.append(Op(asyncio.get_running_loop().time(), "edit", message_id, text))

    async def show_sources(self, sources: list[Source]) -> None:
        self.sources = sources

    async def close(self) -> None:
        self.closed += 1

    async def post_files(self, files: list[OutgoingFile]) -> None:
        self.files.extend(files)

    async def set_title(self, title: str) -> None:
        self.titles.append(title)

    async def show_followups(self, turn_id: int, followups: list[str]) -> None:
        self.followups.append(followups)

    @property
    def unspent(self) -> list[Grant]:
        """Grants handed out that no call used."""
        return list(self._unused)

    @property
    def texts(self) -> list[str]:
        return list(self.messages.values())

    def visible(self, message_ids: list[str]) -> str:
        """The reply as a user reads it, parts joined."""
        return reassemble([self.messages[m] for m in message_ids])
