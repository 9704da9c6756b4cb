"""The controls on an answer in Discord: Stop while it streams; Regenerate, 👍 and 👎 once it is done;
an edited question asked again.

* **Stop** is on every message of an answer while it streams. The asker or an admin may click it; the
  answer ends where it is, marked stopped, and its buttons become the finished answer's.
* **Regenerate** posts a new answer to the same question where the button is ("Attempt 2"), a sibling
  branch in the OpenWebUI chat; anyone allowed in the conversation may click it.
* **👍 / 👎** are each person's own rating, sent to OpenWebUI's evaluations; a second click changes it.
  Only the clicker sees the confirmation. The same reactions on an answer rate it too (the answer's
  buttons name its turn); a reaction gets no confirmation (the reaction shows), removing one changes
  nothing, and one from a person the access rules refuse is ignored (Discord has no private answer to it).
* **Follow-up suggestions** OpenWebUI made after an answer are buttons under its own, one row each (at most
  `MAX_FOLLOW_UPS`), added by one edit of the answer's last message when they arrive: they stay with the
  answer they belong to, also when the conversation has moved on, and post nothing new. A click by anyone
  allowed in the conversation is their next message there (`bridge.answer_controls`), headed on the answer
  with who asked what, since no message of theirs shows it.
* **Editing** the latest question of a conversation asks it again as a new branch. Discord has no private
  answer to a message edit, so an edit of an older question gets a short reply that deletes itself after
  `HINT_SECONDS`.

Clicks and edits are checked against the same access rules as messages; a refusal is private (an
ephemeral answer to a click). Buttons survive restarts (`components`); a button whose turn the database no
longer has says it expired.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from adapters.discord.access import Access, asker_of
from adapters.discord.components import ControlButton, Dispatcher, tell_privately, view_of
from adapters.discord.events import PLATFORM, from_a_person, readable_text
from adapters.discord.pacing import DiscordRateLimits
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import NO_PINGS, UPLOAD_LIMIT, ChannelReplySurface, upload_limit
from bridge import texts
from bridge.control_ids import Action, follow_up_argument, parse_control_id, parse_follow_up
from bridge.core import Core
from bridge.errors import UserFacingError
from bridge.messages import ConversationKey, Person
from bridge.tasks import BackgroundTasks

log = logging.getLogger(__name__)

HINT_SECONDS = 20.0
"""How long the reply to an edit of an older question stays before it deletes itself."""
THUMBS = {"👍": 1, "👎": -1}
LABEL_CHARS = 80  # Discord's longest button label
MAX_FOLLOW_UPS = 4  # Discord shows five rows of buttons on a message; the answer's own take the first
NO_CHANNEL = "I cannot see this channel any more."


def stop_view(stop_id: str) -> discord.ui.View:
    return view_of(ControlButton(Action.STOP, stop_id, label="Stop", emoji="⏹️"))


def answer_view(turn_id: int) -> discord.ui.View:
    return view_of(
        ControlButton(Action.REGENERATE, str(turn_id), label="Regenerate", emoji="🔁"),
        ControlButton(Action.RATE_UP, str(turn_id), emoji="👍"),
        ControlButton(Action.RATE_DOWN, str(turn_id), emoji="👎"),
    )


def followup_view(turn_id: int, followups: list[str]) -> discord.ui.View:
    """The finished answer's buttons, and under them a row for each suggestion, its text as the label
    (clipped to Discord's 80 characters; a click reads the whole text back: `bridge.control_ids`)."""
    view = answer_view(turn_id)
    for index, text in enumerate(followups[:MAX_FOLLOW_UPS]):
        argument = follow_up_argument(turn_id, index)
        view.add_item(ControlButton(Action.FOLLOW_UP, argument, label=texts.clipped(text, LABEL_CHARS), row=index + 1))
    return view


def _person(user: discord.abc.User) -> Person:
    return Person(str(user.id), user.display_name)


def _rated_turn(message: discord.Message) -> int | None:
    """The turn a finished answer's 👍 button names, if the message shows one."""
    for row in message.components:
        for item in getattr(row, "children", []):
            parsed = parse_control_id(getattr(item, "custom_id", None) or "")
            if parsed is not None and parsed[0] == Action.RATE_UP and parsed[1].isdigit():
                return int(parsed[1])
    return None


class AnswerControls:
    """The handlers of the answer buttons and of edited questions, over the core and the access rules."""

    def __init__(
        self,
        core: Core,
        settings: DiscordSettings,
        *,
        access: Access,
        rates: DiscordRateLimits,
        tasks: BackgroundTasks,
        client: discord.Client,
        remember_in_chain: Callable[[int, int], None],
    ) -> None:
        self.core = core
        self.settings = settings
        self.access = access
        self.rates = rates
        self.tasks = tasks
        self.client = client
        self.remember_in_chain = remember_in_chain
        """Tells the reply chains (channel mode) that a posted message (first) belongs to a chain (second)."""

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(Action.STOP, self.stop)
        dispatcher.register(Action.REGENERATE, self.regenerate)
        dispatcher.register(Action.RATE_UP, lambda interaction, turn: self.rate(interaction, turn, 1))
        dispatcher.register(Action.RATE_DOWN, lambda interaction, turn: self.rate(interaction, turn, -1))
        dispatcher.register(Action.FOLLOW_UP, self.follow_up)

    def surface(
        self,
        channel: discord.abc.Messageable,
        key: ConversationKey,
        stop_id: str,
        *,
        reply_to: discord.Message | None,
        rename: Callable[[str], Awaitable[None]] | None = None,
        max_upload_bytes: int = UPLOAD_LIMIT,
    ) -> ChannelReplySurface:
        """Where an answer in conversation `key` streams, with its Stop button. In a reply chain (a thread
        id that is not the channel's own) every message replies to `reply_to` and is remembered as part
        of the chain, so replies to it continue the conversation. `rename` and `max_upload_bytes` as for
        `ChannelReplySurface`."""
        in_chain = bool(key.thread) and not isinstance(channel, discord.Thread) and reply_to is not None
        root = int(key.thread) if in_chain else 0
        return ChannelReplySurface(
            channel,  # type: ignore[arg-type]
            self.rates,
            edit_interval=self.settings.edit_interval,
            reply_to=reply_to if in_chain else None,
            on_post=(lambda posted: self.remember_in_chain(posted, root)) if in_chain else None,
            rename=rename,
            max_upload_bytes=max_upload_bytes,
            stop_view=stop_view(stop_id),
            buttons=lambda: self._buttons(stop_id),
            followups=followup_view,
        )

    def _buttons(self, stop_id: str) -> discord.ui.View | None:
        """The finished answer's buttons, asked for by its final writes while the turn still runs."""
        turn = self.core.controls.running_turn(PLATFORM, stop_id)
        return answer_view(turn) if turn is not None else None

    # --- clicks ---------------------------------------------------------------------------------

    def _refusal(self, interaction: discord.Interaction) -> str | None:
        refusal = self.access.refusal(asker_of(interaction.user, interaction.channel, interaction.guild))
        return f"⛔ {refusal}" if refusal else None

    async def stop(self, interaction: discord.Interaction, stop_id: str) -> None:
        if refusal := self._refusal(interaction):
            await tell_privately(interaction, refusal)
            return
        asker = asker_of(interaction.user, interaction.channel, interaction.guild)
        why_not = await self.core.controls.stop(
            PLATFORM, stop_id, _person(interaction.user), admin=self.access.is_admin(asker)
        )
        if why_not:
            await tell_privately(interaction, why_not)
        else:
            await interaction.response.defer()  # the turn ends and changes the buttons itself

    async def regenerate(self, interaction: discord.Interaction, turn: str) -> None:
        if refusal := self._refusal(interaction):
            await tell_privately(interaction, refusal)
            return
        answered = await self.core.controls.answered(PLATFORM, int(turn))
        channel = interaction.channel
        if channel is None:
            raise UserFacingError(NO_CHANNEL)
        await interaction.response.defer()
        click = str(interaction.id)
        surface = self.surface(channel, answered.key, click, reply_to=interaction.message)  # type: ignore[arg-type]
        regenerate = self.core.controls.regenerate(
            PLATFORM, answered.turn_id, _person(interaction.user), click, surface
        )
        self.tasks.spawn(regenerate, name=f"discord-regenerate-{interaction.id}")

    async def follow_up(self, interaction: discord.Interaction, argument: str) -> None:
        """A suggestion clicked: its text is the clicker's next message in the answer's conversation, answered
        where the button is (the thread, or under the answer in a reply chain), as any message there."""
        if refusal := self._refusal(interaction):
            await tell_privately(interaction, refusal)
            return
        suggestion, channel = parse_follow_up(argument), interaction.channel
        if suggestion is None:
            raise UserFacingError(texts.CONTROL_EXPIRED)
        if channel is None:
            raise UserFacingError(NO_CHANNEL)
        await interaction.response.defer()
        self.tasks.spawn(self._ask(interaction, suggestion, channel), name=f"discord-follow-up-{interaction.id}")

    async def _ask(self, interaction: discord.Interaction, suggestion: tuple[int, int], channel: object) -> None:
        """Read the suggestion back from OpenWebUI and answer it; one of the adapter's tasks, so a shutdown
        lets it finish like any answer."""
        try:
            message = await self.core.controls.follow_up(
                PLATFORM, *suggestion, _person(interaction.user), str(interaction.id)
            )
        except UserFacingError as exc:
            await tell_privately(interaction, str(exc))
            return
        surface = self.surface(
            channel,  # type: ignore[arg-type]
            message.key,
            message.event_id,
            reply_to=interaction.message,
            max_upload_bytes=upload_limit(interaction.guild),
        )
        outcome = await self.core.handle(message, surface)
        if outcome.private_note:  # the identity policy's refusal, for the clicker alone
            await tell_privately(interaction, f"⛔ {outcome.private_note}")

    async def rate(self, interaction: discord.Interaction, turn: str, rating: int) -> None:
        if refusal := self._refusal(interaction):
            await tell_privately(interaction, refusal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await tell_privately(
            interaction, await self.core.controls.rate(PLATFORM, int(turn), _person(interaction.user), rating)
        )

    # --- reactions ------------------------------------------------------------------------------

    def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """A 👍 or 👎 added to one of the bot's messages rates the answer (in the background)."""
        me = self.client.user
        rating = THUMBS.get(payload.emoji.name or "")
        if rating is None or me is None or payload.user_id == me.id:
            return
        if payload.message_author_id is not None and payload.message_author_id != me.id:
            return
        self.tasks.spawn(self._reacted(payload, rating), name=f"discord-reaction-{payload.message_id}")

    async def _reacted(self, payload: discord.RawReactionActionEvent, rating: int) -> None:
        try:
            channel = self.client.get_channel(payload.channel_id) or await self.client.fetch_channel(payload.channel_id)
            message = await channel.fetch_message(payload.message_id)  # type: ignore[union-attr]
            user = payload.member or await self.client.fetch_user(payload.user_id)
        except discord.HTTPException as exc:
            log.info("Discord: a reaction on message %s could not be read: %s", payload.message_id, exc)
            return
        turn = _rated_turn(message)
        if turn is None or self.access.refusal(asker_of(user, channel, message.guild)) is not None:
            return
        try:
            await self.core.controls.rate(PLATFORM, turn, _person(user), rating)
        except UserFacingError as exc:
            log.info("Discord: a reaction on message %s rated nothing: %s", payload.message_id, exc)

    # --- edited questions -----------------------------------------------------------------------

    def on_edit(self, message: discord.Message) -> None:
        """A message was updated: a person's edit of a question is looked at in the background."""
        if message.edited_at is None or not from_a_person(message):
            return
        self.tasks.spawn(self._edited(message), name=f"discord-edit-{message.id}")

    async def _edited(self, message: discord.Message) -> None:
        me = self.client.user
        assert me is not None and message.edited_at is not None

        async def surface_for(key: ConversationKey) -> ChannelReplySurface:
            refusal = self.access.refusal(asker_of(message.author, message.channel, message.guild))
            if refusal:
                raise UserFacingError(f"⛔ {refusal}")
            channel: object = message.channel
            if key.thread and key.thread != str(message.channel.id):
                channel = await self._thread(int(key.thread)) or channel
            return self.surface(channel, key, str(message.id), reply_to=message)  # type: ignore[arg-type]

        try:
            await self.core.controls.ask_edited(
                PLATFORM,
                str(message.id),
                readable_text(message, me),
                str(message.edited_at.timestamp()),
                _person(message.author),
                surface_for,
            )
        except UserFacingError as exc:
            await self._hint(message, str(exc))

    async def _thread(self, thread_id: int) -> discord.Thread | None:
        """The thread a conversation key names (a question that opened a thread is edited in its parent
        channel); None when the id is not a thread's (a reply chain's first message)."""
        found = self.client.get_channel(thread_id)
        if found is None:
            try:
                found = await self.client.fetch_channel(thread_id)
            except discord.HTTPException:
                return None
        return found if isinstance(found, discord.Thread) else None

    async def _hint(self, message: discord.Message, text: str) -> None:
        """A reply that deletes itself: Discord cannot answer an edit privately."""
        try:
            await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS, delete_after=HINT_SECONDS)
        except discord.HTTPException as exc:
            log.warning("Discord: could not answer the edit of message %s: %s", message.id, exc)
