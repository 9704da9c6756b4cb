"""Message commands (a message's *Apps* menu) and `/summarize`: a message, or a thread, as a question.

* **Ask about this message**: the message (its author, text and file names) goes to the model with the
  question "explain it, or answer it"; a context menu takes no text, so nothing more is asked of the person.
* **Summarize thread**: the thread the message is in (or the channel's latest messages, outside a thread), read
  with `GET /channels/{id}/messages` (100 a page, at most `HISTORY_MESSAGES`), asked to be summarized.
  `/summarize` does the same where it is run.
* **Add to knowledge base** (admins): the message's text (as a Markdown file) and its files go into the
  knowledge base named like the channel (a thread's: its parent's), through the core's `add_to_knowledge`.

The answer goes where the bridge answers a mention: in a thread or DM, there, as a turn of its conversation;
in a channel, in a thread opened on the message (with `DISCORD_REPLY_MODE=channel`, or for `/summarize` run
in a channel, into the command's response, as `/ask`). The person gets a note only they see saying where.
Refusals and the knowledge-base result are shown only to the person who asked.
"""

from __future__ import annotations

import discord
from discord import app_commands

from adapters.discord.commands import Question, SlashCommands
from adapters.discord.events import dm_key, thread_key, thread_name
from adapters.discord.files import AttachmentFetcher
from adapters.discord.surface import NO_PINGS, ChannelReplySurface
from bridge import transcripts
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.messages import Attachment, ConversationKey, IncomingMessage

HISTORY_MESSAGES = 300
"""Messages of a thread or channel read for a summary (Discord serves 100 a page; three pages)."""


def line(message: discord.Message) -> transcripts.Line:
    """A message as a transcript line: its readable text (mentions as names) and its files by name."""
    files = " ".join(f"[file: {a.filename}]" for a in message.attachments)
    return transcripts.Line(message.author.display_name, " ".join(p for p in (message.clean_content, files) if p))


async def history(channel: discord.abc.Messageable, limit: int = HISTORY_MESSAGES) -> list[transcripts.Line]:
    """The latest `limit` messages of `channel`, oldest first (discord.py pages through 100 at a time)."""
    found = [line(m) async for m in channel.history(limit=limit) if m.content or m.attachments]
    return found[::-1]


def text_file(message: discord.Message) -> Attachment:
    """The message's text as a Markdown file for a knowledge base, named after the message."""
    text = f"{message.author.display_name} wrote, {message.created_at:%Y-%m-%d %H:%M} UTC:\n\n{message.clean_content}"
    return transcripts.as_file(f"discord-message-{message.id}.md", text)


def knowledge_base_of(channel: object) -> str:
    """The knowledge base a channel's messages go to: the one named like the channel (a thread's parent)."""
    parent = getattr(channel, "parent", None) if isinstance(channel, discord.Thread) else channel
    name = getattr(parent, "name", None)
    if not name:
        raise UserFacingError("A DM has no knowledge base of its own; use `/kb add` with the knowledge base's name.")
    return str(name)


async def answer_in_place(
    commands: SlashCommands,
    core: Core,
    interaction: discord.Interaction,
    question: Question,
    on: discord.Message | None,
) -> None:
    """Answer `question` where a mention of the bot would be answered (see the module docstring)."""
    channel = interaction.channel
    in_conversation = isinstance(channel, discord.Thread) or interaction.guild is None
    if not in_conversation and (on is None or commands.settings.reply_mode != "thread"):
        await commands.ask(interaction, question)
        return
    if not await commands.deferred(interaction, ephemeral=True):
        return
    try:
        text = await question()
        place, key, opened = await _place(commands, interaction, text, on)
    except (UserFacingError, OpenWebUIError) as exc:
        await interaction.edit_original_response(content=f"⚠️ {explain(exc)}", allowed_mentions=NO_PINGS)
        return
    where = "here" if place is interaction.channel or not isinstance(place, discord.Thread) else f"in {place.mention}"
    await interaction.edit_original_response(content=f"Answering {where}.", allowed_mentions=NO_PINGS)
    message = IncomingMessage(
        key=key,
        event_id=f"interaction-{interaction.id}",
        author_id=str(interaction.user.id),
        author_name=interaction.user.display_name,
        text=text,
        new_conversation=opened,
        title_hint=getattr(place, "name", ""),
    )
    surface = ChannelReplySurface(place, commands.rates, edit_interval=commands.settings.edit_interval)
    commands.tasks.spawn(core.handle(message, surface), name=f"discord-menu-{interaction.id}")


async def _place(
    commands: SlashCommands, interaction: discord.Interaction, text: str, on: discord.Message | None
) -> tuple[discord.Thread | discord.DMChannel, ConversationKey, bool]:
    """The thread or DM to answer in, its conversation, and whether the thread was opened for this answer."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        return channel, thread_key(channel), False
    if interaction.guild is None:
        return channel, dm_key(getattr(channel, "id", 0)), False  # type: ignore[return-value]
    assert on is not None
    existing = interaction.guild.get_thread(on.id)
    if existing is not None:
        return existing, thread_key(existing), False
    try:
        thread = await on.create_thread(
            name=thread_name(text, fallback=on.author.display_name),
            auto_archive_duration=commands.settings.thread_archive_minutes,  # type: ignore[arg-type]
        )
    except discord.HTTPException as exc:
        raise UserFacingError(f"I could not open a thread for the answer ({exc.text or exc.status}).") from None
    return thread, thread_key(thread), True


def register(
    tree: app_commands.CommandTree[discord.Client], commands: SlashCommands, core: Core, files: AttachmentFetcher
) -> None:
    """Add the message commands and `/summarize` to `tree`."""

    async def ask_about(interaction: discord.Interaction, message: discord.Message) -> None:
        question = transcripts.with_messages(transcripts.EXPLAIN, "The message", [line(message)])

        async def asked() -> str:
            return question

        await answer_in_place(commands, core, interaction, asked, message)

    async def summarize_thread(interaction: discord.Interaction, message: discord.Message) -> None:
        await summarize(interaction, message.channel, message)

    async def summarize(interaction: discord.Interaction, channel: object, on: discord.Message | None = None) -> None:
        async def question() -> str:
            if not isinstance(channel, discord.abc.Messageable):
                raise UserFacingError("I cannot read the messages here.")
            try:
                lines = await history(channel)
            except discord.HTTPException as exc:
                raise UserFacingError(f"Discord did not let me read this conversation ({exc.status}).") from None
            heading = "The thread" if isinstance(channel, discord.Thread) else "The channel's latest messages"
            return transcripts.with_messages(transcripts.SUMMARIZE, heading, lines)

        await answer_in_place(commands, core, interaction, question, on)

    async def add_to_knowledge(interaction: discord.Interaction, message: discord.Message) -> None:
        async def work() -> str:
            name = knowledge_base_of(interaction.channel)
            attached = [text_file(message)] if message.clean_content.strip() else []
            attached += [files.attachment(item) for item in message.attachments]
            if not attached:
                raise UserFacingError("That message has neither text nor files.")
            return "\n".join(await core.add_to_knowledge(name, attached))

        await commands.run(interaction, work, ephemeral=True, admin=True)

    tree.add_command(app_commands.ContextMenu(name="Ask about this message", callback=ask_about))
    tree.add_command(app_commands.ContextMenu(name="Summarize thread", callback=summarize_thread))
    tree.add_command(app_commands.ContextMenu(name="Add to knowledge base", callback=add_to_knowledge))

    @tree.command(name="summarize", description="Summarize this thread (or this channel's latest messages)")
    async def summarize_here(interaction: discord.Interaction) -> None:
        await summarize(interaction, interaction.channel)
