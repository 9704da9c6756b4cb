"""Where a streamed answer is shown on Discord: a message in a channel, thread or DM, or a slash command's
response. Both post and edit plain messages of at most 2,000 characters; the core's `LiveReply` decides
the text and the timing, these only wait for Discord's budgets (`pacing`) and make the calls.

Bot messages never ping anyone (a model's "@everyone" stays text), except that a reply in a reply chain
notifies the person it answers once, as a human reply would. Every call says so itself (`NO_PINGS`): the
client's default covers a call that forgets, but Discord parses a body without `allowed_mentions` with
its own defaults, `@everyone` included.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import discord

from adapters.discord.pacing import (
    FOLLOWUP_CREATE,
    FOLLOWUP_EDIT,
    MESSAGE_CREATE,
    MESSAGE_EDIT,
    DiscordRateLimits,
)
from bridge import texts
from bridge.links import safe_url
from bridge.surface import Grant, Operation, OutgoingFile, Source, SurfaceExtras, SurfaceLimits

log = logging.getLogger(__name__)

MAX_CHARS = 2000
UPLOAD_LIMIT = 10 * 1024 * 1024  # a bot's attachments where the server's boosts allow no more (and in DMs)
FILES_PER_MESSAGE = 10
MAX_MESSAGE_AGE = 50 * 60  # Discord limits edits of messages older than an hour (error 30046)
MAX_INTERACTION_AGE = 13 * 60  # an interaction's token, needed for every edit and follow-up, lives 15 minutes
TYPING_EVERY = 8.0  # Discord shows "typing" for 10 s after each call
NO_PINGS = discord.AllowedMentions.none()
PING_REPLIED = discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=True)
MAX_SOURCES = 20
SOURCE_NAME_CHARS = 200
DESCRIPTION_CHARS = 4096
_MARKDOWN = re.compile(r"[\\\[\]()*_~`|<>#-]")


class _Channel(Protocol):
    """What a reply needs of a text channel, thread, DM or partial channel."""

    id: int

    async def send(self, content: str, **kwargs: object) -> discord.Message: ...

    def get_partial_message(self, message_id: int, /) -> discord.PartialMessage: ...

    def typing(self) -> object: ...


def sources_embed(sources: list[Source]) -> discord.Embed:
    """The documents an answer came from, one line each, fitted to the embed's 4,096 characters. A name
    is escaped and linked only to an http(s) URL that cannot end the `[name](url)` early (`bridge.links`):
    both come from documents and web pages, and must not add links of their own."""
    lines = [_source_line(source) for source in sources[:MAX_SOURCES]]
    return discord.Embed(title="Sources", description=texts.listing(lines, DESCRIPTION_CHARS, total=len(sources)))


def _source_line(source: Source) -> str:
    name = _MARKDOWN.sub(r"\\\g<0>", texts.clipped(" ".join(source.name.split()), SOURCE_NAME_CHARS)) or "source"
    url = safe_url(source.url)
    return f"• [{name}]({url})" if url else f"• {name}"


def upload_limit(guild: discord.Guild | None) -> int:
    """The largest attachment the bot may post there: the server's (more with boosts), or Discord's default."""
    return guild.filesize_limit if guild is not None else UPLOAD_LIMIT


def file_batches(files: list[OutgoingFile], limit: int) -> list[list[discord.File]]:
    """`files` as the attachments of as few messages as Discord takes: ten each, together within `limit`."""
    batches: list[list[discord.File]] = []
    size = 0
    for file in files:
        if not batches or len(batches[-1]) == FILES_PER_MESSAGE or size + len(file.data) > limit:
            batches.append([])
            size = 0
        batches[-1].append(discord.File(io.BytesIO(file.data), filename=file.name))
        size += len(file.data)
    return batches


class ChannelReplySurface(SurfaceExtras):
    """A reply posted in a channel, thread or DM, and edited as the answer grows.

    In channel mode (`reply_to` set) every message of the answer replies to the user's message, so a
    later reply to any of them finds its way back to the conversation; `on_post` is told of each one.
    `rename` names the conversation's thread after its chat's title: given only for a thread the bot opened.
    Buttons: `stop_view` (Stop) goes on every message posted while the answer streams, and routine edits
    keep it; a final write (the reply's final text, or a message that is complete) sets `buttons()` (the
    finished answer's: Regenerate, 👍, 👎; None: none) instead, in the same call. `close` changes what
    still shows Stop (a message whose final text needed no write of its own). `followups` makes the finished
    answer's buttons with its follow-up suggestions under them (`show_followups`).
    """

    def __init__(
        self,
        channel: _Channel,
        rates: DiscordRateLimits,
        *,
        edit_interval: float = 1.0,
        reply_to: discord.Message | None = None,
        on_post: Callable[[int], None] | None = None,
        rename: Callable[[str], Awaitable[None]] | None = None,
        max_upload_bytes: int = UPLOAD_LIMIT,
        stop_view: discord.ui.View | None = None,
        buttons: Callable[[], discord.ui.View | None] | None = None,
        followups: Callable[[int, list[str]], discord.ui.View] | None = None,
    ) -> None:
        self.limits = SurfaceLimits(MAX_CHARS, min_edit_interval=edit_interval, max_message_age=MAX_MESSAGE_AGE)
        self.max_upload_bytes = max_upload_bytes
        self.stop_view = stop_view
        self.buttons = buttons
        self._followups = followups
        self._showing_stop: set[int] = set()
        self.channel = channel
        self._rename = rename
        self.message_ids: list[int] = []
        self._rates = rates
        self._reply_to = reply_to
        self._on_post = on_post
        self._messages_path = f"/channels/{channel.id}/messages"
        self._placeholder: int | None = None  # the message showing an activity, which the first text replaces
        self._lock = asyncio.Lock()  # the placeholder and the first text: one message, never two

    def _paid(self, grant: Grant, method: str, path: str) -> contextlib.AbstractContextManager[None]:
        """The request `method path` goes on the global grant `grant` holds (one this surface's `pace` took)."""
        if grant.token is self._rates.global_budget:
            return self._rates.paid_for(method, path)
        return contextlib.nullcontext()

    async def show_progress(self, activity: str = "") -> None:
        """Discord's typing indicator, renewed until the first text is posted (this task is cancelled then);
        with an `activity`, a first message saying it in small grey text, which the answer's first text
        replaces.

        The typing indicator only uses spare global budget: when answers are busy streaming, their text
        matters more than a typing indicator, which then waits a second and tries again.
        """
        if activity:
            await self._show_activity(activity)
            return
        while True:
            if not self._rates.global_budget.try_acquire():
                await asyncio.sleep(1.0)
                continue
            try:
                with self._rates.paid_for("POST", f"/channels/{self.channel.id}/typing"):
                    await self.channel.typing()  # type: ignore[misc]
            except discord.HTTPException as exc:
                log.debug("typing indicator in %s failed: %s", self.channel.id, exc)
                return
            await asyncio.sleep(TYPING_EVERY)

    async def _show_activity(self, activity: str) -> None:
        """Post the activity line (or edit it into the placeholder already posted) unless text came first."""
        line = f"-# {texts.clipped(activity, MAX_CHARS - 3)}"
        grant = await self.pace("edit" if self._placeholder else "post", False)
        async with self._lock:
            if self.message_ids:
                return
            if self._placeholder is None:
                self._placeholder = await self._send(line, grant)
            else:
                await self.edit(str(self._placeholder), line, grant)

    async def pace(self, op: Operation, final: bool) -> Grant:
        """The channel's gates (its bucket, and the budgets Discord was seen to hide), then the bot's global
        budget; the call that follows uses every grant (the returned grant holds the global one). A post (a
        reply's first text, or its next part) goes before routine edits: new text first."""
        urgent = final or op == "post"
        route = MESSAGE_CREATE if op == "post" else MESSAGE_EDIT
        taken = await self._rates.acquire(route, str(self.channel.id), urgent)
        try:
            await self._rates.acquire_global(urgent)
            await self._rates.take_learned(taken, urgent)
        except asyncio.CancelledError:
            taken.give_back()  # a routine update gave way to the final text, which needs these very calls
            raise
        return Grant(op, final, self._rates.global_budget)

    async def post(self, text: str, grant: Grant) -> str:
        """A new message, or the first text in place of the activity placeholder (an edit on this grant)."""
        if self.message_ids:
            message_id = await self._send(text, grant)
        else:
            async with self._lock:
                message_id, self._placeholder = self._placeholder, None
                if message_id is None:
                    message_id = await self._send(text, grant)
                else:
                    await self.edit(str(message_id), text, grant)
        self.message_ids.append(message_id)
        return str(message_id)

    async def _send(self, text: str, grant: Grant) -> int:
        """Send a message of the reply (the first replies to the user's message in channel mode)."""
        options: dict[str, object] = {"allowed_mentions": NO_PINGS}
        if self._reply_to is not None:
            first = not self.message_ids and self._placeholder is None
            options = {
                "reference": self._reply_to.to_reference(fail_if_not_exists=False),
                "allowed_mentions": PING_REPLIED if first else NO_PINGS,
                "mention_author": first,
            }
        view = self._final_view() if grant.final else self.stop_view
        if view is not None:
            options["view"] = view
        with self._paid(grant, "POST", self._messages_path):
            message = await self.channel.send(text, **options)
        if view is not None and view is self.stop_view:
            self._showing_stop.add(message.id)
        if self._on_post is not None:
            self._on_post(message.id)
        return message.id

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        # Discord parses an edit without `allowed_mentions` with default allowances (@everyone included),
        # whatever the message was posted with.
        options: dict[str, object] = {}
        if grant.final and (int(message_id) in self._showing_stop or self.buttons is not None):
            options["view"] = self._final_view()
            self._showing_stop.discard(int(message_id))
        with self._paid(grant, "PATCH", f"{self._messages_path}/{message_id}"):
            await self.channel.get_partial_message(int(message_id)).edit(
                content=text, allowed_mentions=NO_PINGS, **options
            )

    def _final_view(self) -> discord.ui.View | None:
        return self.buttons() if self.buttons is not None else None

    async def close(self) -> None:
        """The reply is over: a message still showing Stop gets the finished answer's buttons (the last)
        or none (the others)."""
        for message_id in sorted(self._showing_stop):
            view = self._final_view() if self.message_ids and message_id == self.message_ids[-1] else None
            grant = await self.pace("edit", True)
            try:
                with self._paid(grant, "PATCH", f"{self._messages_path}/{message_id}"):
                    await self.channel.get_partial_message(message_id).edit(view=view, allowed_mentions=NO_PINGS)
            except discord.HTTPException as exc:
                log.warning("Discord: could not change the buttons of message %s: %s", message_id, exc)
        self._showing_stop.clear()

    async def show_sources(self, sources: list[Source]) -> None:
        """Add the sources to the answer's last message as an embed (one more edit, not a new message)."""
        if not sources or not self.message_ids:
            return
        grant = await self.pace("edit", True)
        last = self.message_ids[-1]
        with self._paid(grant, "PATCH", f"{self._messages_path}/{last}"):
            await self.channel.get_partial_message(last).edit(embed=sources_embed(sources), allowed_mentions=NO_PINGS)

    async def show_followups(self, turn_id: int, followups: list[str]) -> None:
        """The suggestions as buttons on the answer's last message, under its own: one edit of its buttons
        (text and sources stay), a routine one, since they come after the answer is complete."""
        if self._followups is None or not followups or not self.message_ids:
            return
        last = self.message_ids[-1]
        grant = await self.pace("edit", False)
        with self._paid(grant, "PATCH", f"{self._messages_path}/{last}"):
            await self.channel.get_partial_message(last).edit(
                view=self._followups(turn_id, followups), allowed_mentions=NO_PINGS
            )

    async def post_files(self, files: list[OutgoingFile]) -> None:
        """The files as attachments of new messages under the answer (ten a message, within the upload limit)."""
        for batch in file_batches(files, self.max_upload_bytes):
            grant = await self.pace("post", True)
            with self._paid(grant, "POST", self._messages_path):
                message = await self.channel.send(files=batch, allowed_mentions=NO_PINGS)
            if self._on_post is not None:
                self._on_post(message.id)

    async def set_title(self, title: str) -> None:
        if self._rename is not None:
            await self._rename(title)


class InteractionReplySurface(SurfaceExtras):
    """A reply to a slash command: the deferred ("thinking") response, then follow-ups for longer answers."""

    def __init__(
        self,
        interaction: discord.Interaction,
        rates: DiscordRateLimits,
        *,
        ephemeral: bool = False,
        edit_interval: float = 1.0,
    ) -> None:
        self.limits = SurfaceLimits(MAX_CHARS, min_edit_interval=edit_interval, max_message_age=MAX_INTERACTION_AGE)
        self.max_upload_bytes = upload_limit(interaction.guild)
        self.interaction = interaction
        self.message_ids: list[str] = []
        self._rates = rates
        self._ephemeral = ephemeral
        self._original: str | None = None
        self._major = f"{interaction.application_id}+{interaction.token}"
        self._lock = asyncio.Lock()  # an activity edit never lands after the first text

    async def show_progress(self, activity: str = "") -> None:
        """The deferred response already shows Discord's "thinking…" until the first text; an `activity`
        replaces it, in small grey text, until then."""
        if not activity:
            return
        await self.pace("edit", False)
        async with self._lock:
            if self._original is None:
                line = f"-# {texts.clipped(activity, MAX_CHARS - 3)}"
                await self.interaction.edit_original_response(content=line, allowed_mentions=NO_PINGS)

    async def pace(self, op: Operation, final: bool) -> Grant:
        """The interaction's gates only: interaction responses are outside the global budget."""
        route = FOLLOWUP_CREATE if op == "post" and self._original is not None else FOLLOWUP_EDIT
        await self._rates.acquire(route, self._major, final)
        return Grant(op, final)

    async def post(self, text: str, grant: Grant) -> str:
        if self._original is None:
            async with self._lock:
                message = await self.interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)
                self._original = str(message.id)
            self.message_ids.append(self._original)
            return self._original
        sent = await self.interaction.followup.send(
            text, wait=True, ephemeral=self._ephemeral, allowed_mentions=NO_PINGS
        )
        self.message_ids.append(str(sent.id))
        return str(sent.id)

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        if message_id == self._original:
            await self.interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)
        else:
            await self.interaction.followup.edit_message(int(message_id), content=text, allowed_mentions=NO_PINGS)

    async def close(self) -> None:
        return None

    async def show_sources(self, sources: list[Source]) -> None:
        if not sources or not self.message_ids:
            return
        await self.pace("edit", True)
        last = self.message_ids[-1]
        if last == self._original:
            await self.interaction.edit_original_response(embed=sources_embed(sources), allowed_mentions=NO_PINGS)
        else:
            await self.interaction.followup.edit_message(
                int(last), embed=sources_embed(sources), allowed_mentions=NO_PINGS
            )

    async def post_files(self, files: list[OutgoingFile]) -> None:
        for batch in file_batches(files, self.max_upload_bytes):
            await self.pace("post", True)
            await self.interaction.followup.send(
                files=batch, wait=True, ephemeral=self._ephemeral, allowed_mentions=NO_PINGS
            )
