"""Slash commands: `/ask`, `/new`, `/model`, `/system`, `/status` and `/kb list|ask|add`.

Every command answers within Discord's 3 s: a refusal at once (only the asker sees it), anything else is
deferred first and then filled in by editing the deferred response. A command's "place" is where it is
run: a thread or DM is a conversation and a settings scope; a channel is a settings scope its threads
and reply chains inherit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from adapters.discord.access import NOT_ADMIN, asker_of
from adapters.discord.events import PLATFORM, place_key
from adapters.discord.surface import NO_PINGS, InteractionReplySurface
from bridge.engine import UserFacingError
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.openwebui import errors

if TYPE_CHECKING:
    from adapters.discord.bot import DiscordAdapter

MAX_CHOICES = 25  # Discord's limit for autocomplete answers
KB_CACHE_SECONDS = 30.0
CLEAR = "default"
MESSAGE_LINK = re.compile(r"(?:https?://)?(?:\w+\.)?discord(?:app)?\.com/channels/(?:\d+|@me)/(\d+)/(\d+)")

Work = Callable[[], Awaitable[str | None]]


def _choice_name(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


class SlashCommands:
    """The command tree's handlers, over the adapter's engine, access rules and rate limits."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
        self.engine = adapter.core.engine
        self._kb_names: tuple[float, list[str]] = (float("-inf"), [])

    def register(self, tree: app_commands.CommandTree[discord.Client]) -> None:
        """Add every command to `tree` (synced by the client once logged in)."""

        @tree.command(name="ask", description="Ask OpenWebUI a one-off question")
        @app_commands.describe(question="what to ask", model="model to use", ephemeral="only you see the answer")
        async def ask(
            interaction: discord.Interaction, question: str, model: str | None = None, ephemeral: bool = False
        ) -> None:
            await self.ask(interaction, question, model=model, ephemeral=ephemeral)

        @tree.command(name="new", description="Start a new OpenWebUI chat in this thread or DM")
        async def new(interaction: discord.Interaction) -> None:
            await self._run(interaction, lambda: self.new(interaction))

        @tree.command(name="model", description="Show the model used here, or set it (admins)")
        @app_commands.describe(model=f"model for this channel or thread; `{CLEAR}` to inherit again")
        async def model(interaction: discord.Interaction, model: str | None = None) -> None:
            await self._run(
                interaction, lambda: self.model(interaction, model), ephemeral=model is None, configure=bool(model)
            )

        @tree.command(name="system", description="Show this channel's system prompt, or set or clear it (admins)")
        @app_commands.describe(prompt="the new system prompt", clear="remove the system prompt set here")
        async def system(interaction: discord.Interaction, prompt: str | None = None, clear: bool = False) -> None:
            changes = prompt is not None or clear
            await self._run(
                interaction, lambda: self.system(interaction, prompt, clear), ephemeral=not changes, configure=changes
            )

        @tree.command(name="status", description="OpenWebUI's state, the model, and this conversation's chat")
        async def status(interaction: discord.Interaction) -> None:
            await self._run(interaction, lambda: self.status(interaction), ephemeral=True)

        kb = app_commands.Group(name="kb", description="OpenWebUI knowledge bases")

        @kb.command(name="list", description="The knowledge bases OpenWebUI offers")
        async def kb_list(interaction: discord.Interaction) -> None:
            await self._run(interaction, self.kb_list, ephemeral=True)

        @kb.command(name="ask", description="Ask a knowledge base; the answer names its sources")
        @app_commands.describe(kb="knowledge base", question="what to ask", ephemeral="only you see the answer")
        async def kb_ask(interaction: discord.Interaction, kb: str, question: str, ephemeral: bool = False) -> None:
            await self.ask(interaction, question, knowledge=kb, ephemeral=ephemeral)

        @kb.command(name="add", description="Add an uploaded file, or a message's files, to a knowledge base (admins)")
        @app_commands.describe(kb="knowledge base", file="a file to add", message="link or id of a message with files")
        async def kb_add(
            interaction: discord.Interaction,
            kb: str,
            file: discord.Attachment | None = None,
            message: str | None = None,
        ) -> None:
            await self._run(interaction, lambda: self.kb_add(interaction, kb, file, message), admin=True)

        ask.autocomplete("model")(self.model_choices)
        model.autocomplete("model")(self.model_choices)
        kb_ask.autocomplete("kb")(self.kb_choices)
        kb_add.autocomplete("kb")(self.kb_choices)
        tree.add_command(kb)

    # --- the common frame -----------------------------------------------------------------------

    def _refusal(self, interaction: discord.Interaction, *, configure: bool = False, admin: bool = False) -> str | None:
        who = asker_of(interaction.user, interaction.channel, interaction.guild)
        refusal = self.adapter.access.refusal(who)
        if refusal is None and admin and not self.adapter.access.is_admin(who):
            refusal = NOT_ADMIN
        if refusal is None and configure and not self.adapter.access.may_configure(who):
            refusal = NOT_ADMIN
        return refusal

    async def _run(
        self, interaction: discord.Interaction, work: Work, *, ephemeral: bool = False, **needs: bool
    ) -> None:
        """Refuse at once, or defer, do `work`, and show its sentence (or the error's) in the response."""
        refusal = self._refusal(interaction, **needs)
        if refusal is not None:
            await interaction.response.send_message(f"⛔ {refusal}", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        try:
            text = await work()
        except UserFacingError as exc:
            text = f"⚠️ {exc}"
        except errors.OpenWebUIError as exc:
            text = f"⚠️ {exc.user_message}"
        if text is not None:
            await interaction.edit_original_response(content=text[:2000], allowed_mentions=NO_PINGS)

    # --- conversations --------------------------------------------------------------------------

    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        *,
        model: str | None = None,
        knowledge: str | None = None,
        ephemeral: bool = False,
    ) -> None:
        """A one-off question (its own OpenWebUI chat) answered by streaming into the command's response."""
        refusal = self._refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(f"⛔ {refusal}", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        surface = InteractionReplySurface(
            interaction, self.adapter.rates, ephemeral=ephemeral, edit_interval=self.adapter.settings.edit_interval
        )
        bases: tuple[str, ...] = ()
        if knowledge:
            try:
                bases = (await self.engine.find_knowledge(knowledge),)
            except UserFacingError as exc:
                await interaction.edit_original_response(content=f"⚠️ {exc}")
                return
            except errors.OpenWebUIError as exc:
                await interaction.edit_original_response(content=f"⚠️ {exc.user_message}")
                return
        place = place_key(interaction.channel, interaction.guild)
        message = IncomingMessage(
            key=ConversationKey(PLATFORM, place.workspace, place.channel, f"ask-{interaction.id}"),
            event_id=f"interaction-{interaction.id}",
            author_id=str(interaction.user.id),
            author_name=interaction.user.display_name,
            text=question,
            new_conversation=True,
            model=model,
        )
        self.adapter.spawn(self.engine.handle(message, surface, knowledge=bases), name=f"discord-ask-{interaction.id}")

    async def new(self, interaction: discord.Interaction) -> str:
        place = place_key(interaction.channel, interaction.guild)
        if not place.thread and place.workspace:
            if self.adapter.settings.reply_mode == "thread":
                return "Every mention here opens a new thread, which is a new chat; use /new inside a thread."
            return "Every mention here starts a new chat; reply to one of my answers to continue one instead."
        if await self.engine.new_conversation(place):
            return "Done: the next message here starts a new OpenWebUI chat (the previous one stays in OpenWebUI)."
        return "There is no chat here yet; the next message starts one."

    # --- settings -------------------------------------------------------------------------------

    async def model(self, interaction: discord.Interaction, name: str | None) -> str:
        place = place_key(interaction.channel, interaction.guild)
        where = _where(place)
        if not name:
            current, _ = await self.engine.effective_settings(place)
            return f"Model {where}: `{current or 'none'}`. Admins can change it with `/model <name>`."
        chosen = await self.engine.set_model(place, "" if name == CLEAR else name)
        if name == CLEAR:
            current, _ = await self.engine.effective_settings(place)
            return f"The model {where} is inherited again: `{current or 'none'}`."
        return f"Model {where} set to `{chosen.id}` by {interaction.user.mention}."

    async def system(self, interaction: discord.Interaction, prompt: str | None, clear: bool) -> str:
        place = place_key(interaction.channel, interaction.guild)
        where = _where(place)
        if clear:
            await self.engine.set_system_prompt(place, "")
            _, current = await self.engine.effective_settings(place)
            inherited = f" It inherits: {_quote(current)}" if current else ""
            return f"System prompt {where} cleared.{inherited}"
        if prompt is not None:
            await self.engine.set_system_prompt(place, prompt.strip())
            return f"System prompt {where} set by {interaction.user.mention}: {_quote(prompt.strip())}"
        _, current = await self.engine.effective_settings(place)
        if not current:
            return f"No system prompt {where}. Admins can set one with `/system prompt:<text>`."
        return f"System prompt {where}: {_quote(current)}"

    async def status(self, interaction: discord.Interaction) -> str:
        place = place_key(interaction.channel, interaction.guild)
        client = self.engine.client
        lines = []
        try:
            await client.health()
            lines.append(f"OpenWebUI: ✅ reachable at {client.base_url}")
            model, prompt = await self.engine.effective_settings(place)
            lines.append(f"Model {_where(place)}: `{model or 'none'}`")
            lines.append(f"System prompt: {'set' if prompt else 'none'}")
        except errors.OpenWebUIError as exc:
            lines.append(f"OpenWebUI: ⚠️ {exc.user_message}")
        chat_id, link = await self.engine.chat_link(place)
        if chat_id:
            lines.append(f"Conversation: chat `{chat_id}` — {link}")
        elif place.thread or not place.workspace:
            lines.append("Conversation: none yet; the next message starts one.")
        else:
            lines.append("Conversation: each thread (or reply chain) here is its own chat; run /status inside one.")
        return "\n".join(lines)

    # --- knowledge ------------------------------------------------------------------------------

    async def kb_list(self) -> str:
        bases = await self.engine.client.knowledge_list()
        if not bases:
            return "OpenWebUI offers no knowledge bases to the bridge's key."
        lines = [f"• **{b.name}**" + (f" — {b.description}" if b.description else "") for b in bases]
        return "Knowledge bases (ask one with `/kb ask`):\n" + "\n".join(lines)

    async def kb_add(
        self, interaction: discord.Interaction, kb: str, file: discord.Attachment | None, link: str | None
    ) -> str:
        files: list[Attachment] = []
        if file is not None:
            files.append(self.adapter.files.attachment(file))
        if link:
            message = await self._linked_message(interaction, link)
            files.extend(self.adapter.files.attachment(item) for item in message.attachments)
            if not message.attachments:
                raise UserFacingError("That message has no files.")
        if not files:
            raise UserFacingError("Attach a file, or give the link of a message with files (`message:`).")
        return "\n".join(await self.engine.add_to_knowledge(kb, files))

    async def _linked_message(self, interaction: discord.Interaction, link: str) -> discord.Message:
        """The message named by a link (any channel the bot can read) or an id (this channel)."""
        match = MESSAGE_LINK.search(link)
        channel_id = int(match.group(1)) if match else getattr(interaction.channel, "id", 0)
        message_id = match.group(2) if match else link.strip()
        if not message_id.isdigit():
            raise UserFacingError("Give a message link (Copy Message Link) or a message id.")
        try:
            channel = self.adapter.client.get_channel(channel_id) or await self.adapter.client.fetch_channel(channel_id)
            return await channel.fetch_message(int(message_id))  # type: ignore[union-attr]
        except (discord.HTTPException, AttributeError):
            raise UserFacingError(
                "I cannot read that message; check the link and that I can see its channel."
            ) from None

    # --- autocomplete ---------------------------------------------------------------------------

    async def model_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            models = await self.engine.models()
        except errors.OpenWebUIError:
            return []
        wanted = current.lower()
        found = [m for m in models if wanted in m.id.lower() or wanted in m.name.lower()]
        return [
            app_commands.Choice(name=_choice_name(m.id if m.name == m.id else f"{m.name} ({m.id})"), value=m.id)
            for m in found[:MAX_CHOICES]
        ]

    async def kb_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        fetched_at, names = self._kb_names
        if time.monotonic() - fetched_at > KB_CACHE_SECONDS:
            try:
                names = [b.name for b in await self.engine.client.knowledge_list()]
            except errors.OpenWebUIError:
                return []
            self._kb_names = (time.monotonic(), names)
        wanted = current.lower()
        return [app_commands.Choice(name=_choice_name(n), value=n) for n in names if wanted in n.lower()][:MAX_CHOICES]


def _where(place: ConversationKey) -> str:
    if not place.workspace:
        return "in this DM"
    return "in this thread" if place.thread else "in this channel"


def _quote(text: str, limit: int = 1500) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "\n> " + shown.replace("\n", "\n> ")
