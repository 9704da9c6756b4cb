"""Slash commands: `/ask`, `/new`, `/model`, `/system`, `/tools`, `/features`, `/status` and `/kb list|ask|add`.

Every command answers within Discord's 3 s: a refusal at once (only the asker sees it), anything else is
deferred first and then filled in by editing the deferred response. A command's "place" is where it is
run: a thread or DM is a conversation and a settings scope; a channel is a settings scope its threads
and reply chains inherit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import discord
from discord import app_commands

from adapters.discord.access import NOT_ADMIN, Access, asker_of
from adapters.discord.events import PLATFORM, place_key
from adapters.discord.files import AttachmentFetcher
from adapters.discord.pacing import DiscordRateLimits
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import NO_PINGS, InteractionReplySurface
from bridge import texts
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.tasks import BackgroundTasks

MAX_CHOICES = 25  # Discord's limit for autocomplete answers
KB_CACHE_SECONDS = 30.0
CLEAR = "default"
MESSAGE_LINK = re.compile(r"(?:https?://)?(?:\w+\.)?discord(?:app)?\.com/channels/(?:\d+|@me)/(\d+)/(\d+)")

Work = Callable[[], Awaitable[str | None]]
Question = Callable[[], Awaitable[str]]
"""Makes a question once the response is deferred (`SlashCommands.ask`)."""
State = Literal["on", "off", "default"]
MARKUP = texts.Markup(bold=lambda text: f"**{text}**")


def _choice_name(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


class SlashCommands:
    """The command tree's handlers, over the core, the adapter's access rules and rate limits."""

    def __init__(
        self,
        core: Core,
        settings: DiscordSettings,
        *,
        access: Access,
        rates: DiscordRateLimits,
        files: AttachmentFetcher,
        tasks: BackgroundTasks,
        client: discord.Client,
    ) -> None:
        self.core = core
        self.settings = settings
        self.access = access
        self.rates = rates
        self.files = files
        self.tasks = tasks
        self.client = client
        self._kb_names: dict[str, tuple[float, list[str]]] = {}  # per user: each sees their own (linked)

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
            await self.run(interaction, lambda: self.new(interaction))

        @tree.command(name="model", description="Show the model used here, or set it (admins)")
        @app_commands.describe(model=f"model for this channel or thread; `{CLEAR}` to inherit again")
        async def model(interaction: discord.Interaction, model: str | None = None) -> None:
            await self.run(
                interaction, lambda: self.model(interaction, model), ephemeral=model is None, configure=bool(model)
            )

        @tree.command(name="system", description="Show this channel's system prompt, or set or clear it (admins)")
        @app_commands.describe(prompt="the new system prompt", clear="remove the system prompt set here")
        async def system(interaction: discord.Interaction, prompt: str | None = None, clear: bool = False) -> None:
            changes = prompt is not None or clear
            await self.run(
                interaction, lambda: self.system(interaction, prompt, clear), ephemeral=not changes, configure=changes
            )

        @tree.command(name="tools", description="Show the OpenWebUI tools used here, or switch one (admins)")
        @app_commands.describe(tool="an OpenWebUI tool", state="on (default), off, or default: as the model decides")
        async def tools(interaction: discord.Interaction, tool: str | None = None, state: State = "on") -> None:
            await self.run(
                interaction, lambda: self.tools(interaction, tool, state), ephemeral=tool is None, configure=bool(tool)
            )

        @tree.command(name="features", description="Show the OpenWebUI features used here, or switch them (admins)")
        @app_commands.describe(
            web_search="search the web before answering",
            image_generation="generate images",
            code_interpreter="let the model run code",
            memory="use the memories OpenWebUI keeps for the bridge's user",
        )
        async def features(
            interaction: discord.Interaction,
            web_search: State | None = None,
            image_generation: State | None = None,
            code_interpreter: State | None = None,
            memory: State | None = None,
        ) -> None:
            chosen = {
                "web_search": web_search,
                "image_generation": image_generation,
                "code_interpreter": code_interpreter,
                "memory": memory,
            }
            changes = {name: state for name, state in chosen.items() if state is not None}
            await self.run(
                interaction, lambda: self.features(interaction, changes), ephemeral=not changes, configure=bool(changes)
            )

        @tree.command(name="status", description="OpenWebUI's state, the model, and this conversation's chat")
        async def status(interaction: discord.Interaction) -> None:
            await self.run(interaction, lambda: self.status(interaction), ephemeral=True)

        kb = app_commands.Group(name="kb", description="OpenWebUI knowledge bases")

        @kb.command(name="list", description="The knowledge bases OpenWebUI offers")
        async def kb_list(interaction: discord.Interaction) -> None:
            await self.run(interaction, self.kb_list, ephemeral=True)

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
            await self.run(interaction, lambda: self.kb_add(interaction, kb, file, message), admin=True)

        ask.autocomplete("model")(self.model_choices)
        model.autocomplete("model")(self.model_choices)
        tools.autocomplete("tool")(self.tool_choices)
        kb_ask.autocomplete("kb")(self.kb_choices)
        kb_add.autocomplete("kb")(self.kb_choices)
        tree.add_command(kb)

    # --- the common frame -----------------------------------------------------------------------

    def _refusal(self, interaction: discord.Interaction, *, configure: bool = False, admin: bool = False) -> str | None:
        who = asker_of(interaction.user, interaction.channel, interaction.guild)
        refusal = self.access.refusal(who)
        if refusal is None and admin and not self.access.is_admin(who):
            refusal = NOT_ADMIN
        if refusal is None and configure and not self.access.may_configure(who):
            refusal = NOT_ADMIN
        return refusal

    async def deferred(self, interaction: discord.Interaction, *, ephemeral: bool, **needs: bool) -> bool:
        """Within Discord's 3 s: a refused person told so privately (False), else the response deferred."""
        refusal = self._refusal(interaction, **needs)
        if refusal is not None:
            await interaction.response.send_message(f"⛔ {refusal}", ephemeral=True, allowed_mentions=NO_PINGS)
            return False
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        return True

    async def run(
        self, interaction: discord.Interaction, work: Work, *, ephemeral: bool = False, **needs: bool
    ) -> None:
        """Refuse at once, or defer, do `work`, and show its sentence (or the error's) in the response."""
        if not await self.deferred(interaction, ephemeral=ephemeral, **needs):
            return
        try:
            async with self.core.as_person(PLATFORM, str(interaction.user.id)):
                text = await work()
        except (UserFacingError, OpenWebUIError) as exc:
            text = f"⚠️ {explain(exc)}"
        if text is not None:
            await interaction.edit_original_response(content=text[:2000], allowed_mentions=NO_PINGS)

    # --- conversations --------------------------------------------------------------------------

    async def ask(
        self,
        interaction: discord.Interaction,
        question: str | Question,
        *,
        model: str | None = None,
        knowledge: str | None = None,
        ephemeral: bool = False,
    ) -> None:
        """A one-off question (its own OpenWebUI chat) answered by streaming into the command's response.
        `question` may be made after the response is deferred (a prompt filled in, a thread read), since
        that can take longer than Discord's 3 s; its error is the response."""
        if not await self.deferred(interaction, ephemeral=ephemeral):
            return
        surface = InteractionReplySurface(
            interaction, self.rates, ephemeral=ephemeral, edit_interval=self.settings.edit_interval
        )
        bases: tuple[str, ...] = ()
        try:
            if knowledge:
                async with self.core.as_person(PLATFORM, str(interaction.user.id)):
                    bases = (await self.core.find_knowledge(knowledge),)
            if not isinstance(question, str):
                question = await question()
        except (UserFacingError, OpenWebUIError) as exc:
            await interaction.edit_original_response(content=f"⚠️ {explain(exc)}", allowed_mentions=NO_PINGS)
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
        self.tasks.spawn(self._ask(interaction, message, surface, bases), name=f"discord-ask-{interaction.id}")

    async def _ask(
        self,
        interaction: discord.Interaction,
        message: IncomingMessage,
        surface: InteractionReplySurface,
        bases: tuple[str, ...],
    ) -> None:
        """The turn of `/ask`; a note for the asker alone (their OpenWebUI link) goes in an ephemeral follow-up."""
        outcome = await self.core.handle(message, surface, knowledge=bases)
        if outcome.private_note:
            await interaction.edit_original_response(content="⛔ Not answered.", allowed_mentions=NO_PINGS)
            await interaction.followup.send(f"⛔ {outcome.private_note}", ephemeral=True, allowed_mentions=NO_PINGS)

    async def new(self, interaction: discord.Interaction) -> str:
        place = place_key(interaction.channel, interaction.guild)
        if not place.thread and place.workspace:
            if self.settings.reply_mode == "thread":
                return "Every mention here opens a new thread, which is a new chat; use /new inside a thread."
            return "Every mention here starts a new chat; reply to one of my answers to continue one instead."
        return texts.new_chat(await self.core.new_conversation(place), "here")

    # --- settings -------------------------------------------------------------------------------

    async def model(self, interaction: discord.Interaction, name: str | None) -> str:
        place = place_key(interaction.channel, interaction.guild)
        where = _where(place)
        if not name:
            current, _ = await self.core.effective_settings(place)
            names = [m.id for m in await self.core.models()]
            return texts.model_shown(current, where, names, "Admins can change it with `/model <name>`.")
        chosen = await self.core.set_model(place, "" if name == CLEAR else name)
        if name == CLEAR:
            current, _ = await self.core.effective_settings(place)
            return texts.model_inherited(current, where)
        return texts.model_set(chosen.id, where, interaction.user.mention)

    async def system(self, interaction: discord.Interaction, prompt: str | None, clear: bool) -> str:
        place = place_key(interaction.channel, interaction.guild)
        where = _where(place)
        who = interaction.user.mention
        if clear:
            await self.core.set_system_prompt(place, "")
            _, current = await self.core.effective_settings(place)
            return texts.prompt_cleared(current, where, who, MARKUP)
        if prompt is not None:
            await self.core.set_system_prompt(place, prompt.strip())
            return texts.prompt_set(prompt.strip(), where, who, MARKUP)
        _, current = await self.core.effective_settings(place)
        return texts.prompt_shown(current, where, "Admins can set one with `/system prompt:<text>`.", MARKUP)

    async def tools(self, interaction: discord.Interaction, name: str | None, state: str) -> str:
        place = place_key(interaction.channel, interaction.guild)
        if not name:
            change = "Admins switch one with `/tools tool:<name> state:on|off|default`."
            return texts.tools_shown(await self.core.assistance(place), _where(place), change)
        on = texts.SWITCH_STATES[state]
        tool = await self.core.switch_tool(place, name, on)
        return texts.switched("Tool", tool.id, on, _where(place), interaction.user.mention)

    async def features(self, interaction: discord.Interaction, changes: dict[str, str]) -> str:
        place = place_key(interaction.channel, interaction.guild)
        if not changes:
            change = "Admins switch them with `/features web_search:on` (`off`, `default`)."
            return texts.features_shown(await self.core.assistance(place), _where(place), change)
        lines = []
        for feature, state in changes.items():
            on = texts.SWITCH_STATES[state]
            await self.core.switch_feature(place, feature, on)
            lines.append(texts.switched("Feature", feature, on, _where(place), interaction.user.mention))
        return "\n".join(lines)

    async def status(self, interaction: discord.Interaction) -> str:
        place = place_key(interaction.channel, interaction.guild)
        return texts.status(
            await self.core.status(place),
            where=_where(place),
            is_conversation=bool(place.thread or not place.workspace),
            per_thread="each thread (or reply chain) here is its own chat; run /status inside one.",
        )

    # --- knowledge ------------------------------------------------------------------------------

    async def kb_list(self) -> str:
        bases = await self.core.knowledge_bases()
        return texts.knowledge_list([(b.name, b.description) for b in bases], "/kb ask", MARKUP)

    async def kb_add(
        self, interaction: discord.Interaction, kb: str, file: discord.Attachment | None, link: str | None
    ) -> str:
        files: list[Attachment] = []
        if file is not None:
            files.append(self.files.attachment(file))
        if link:
            message = await self._linked_message(interaction, link)
            files.extend(self.files.attachment(item) for item in message.attachments)
            if not message.attachments:
                raise UserFacingError("That message has no files.")
        if not files:
            raise UserFacingError("Attach a file, or give the link of a message with files (`message:`).")
        return "\n".join(await self.core.add_to_knowledge(kb, files))

    async def _linked_message(self, interaction: discord.Interaction, link: str) -> discord.Message:
        """The message named by a link (any channel the bot can read) or an id (this channel)."""
        match = MESSAGE_LINK.search(link)
        channel_id = int(match.group(1)) if match else getattr(interaction.channel, "id", 0)
        message_id = match.group(2) if match else link.strip()
        if not message_id.isdigit():
            raise UserFacingError("Give a message link (Copy Message Link) or a message id.")
        try:
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
            return await channel.fetch_message(int(message_id))  # type: ignore[union-attr]
        except (discord.HTTPException, AttributeError):
            raise UserFacingError(
                "I cannot read that message; check the link and that I can see its channel."
            ) from None

    # --- autocomplete ---------------------------------------------------------------------------

    async def model_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            async with self.core.as_person(PLATFORM, str(interaction.user.id)):
                models = await self.core.models()
        except (OpenWebUIError, UserFacingError):
            return []
        return named_choices([(m.id, m.name) for m in models], current)

    async def tool_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            tools = await self.core.tools()
        except OpenWebUIError:
            return []
        return named_choices([(t.id, t.name) for t in tools], current)

    async def kb_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        user = str(interaction.user.id)
        fetched_at, names = self._kb_names.get(user, (float("-inf"), []))
        if time.monotonic() - fetched_at > KB_CACHE_SECONDS:
            try:
                async with self.core.as_person(PLATFORM, user):
                    names = [b.name for b in await self.core.knowledge_bases()]
            except (OpenWebUIError, UserFacingError):
                return []
            self._kb_names[user] = (time.monotonic(), names)
        wanted = current.lower()
        return [app_commands.Choice(name=_choice_name(n), value=n) for n in names if wanted in n.lower()][:MAX_CHOICES]


def named_choices(items: list[tuple[str, str]], current: str) -> list[app_commands.Choice[str]]:
    """The (id, name) pairs matching what was typed so far, as autocomplete answers with the id as value."""
    wanted = current.lower()
    found = [(id_, name) for id_, name in items if wanted in id_.lower() or wanted in name.lower()]
    return [
        app_commands.Choice(name=_choice_name(id_ if name == id_ else f"{name} ({id_})"), value=id_)
        for id_, name in found[:MAX_CHOICES]
    ]


def _where(place: ConversationKey) -> str:
    if not place.workspace:
        return "in this DM"
    return "in this thread" if place.thread else "in this channel"
