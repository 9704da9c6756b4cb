"""Message commands (a message's *Apps* menu) and `/summarize`: a message, or a thread, as a question.

* **Ask about this message**: the message (its author, text and file names) goes to the model with the
  question "explain it, or answer it"; a context menu takes no text, so nothing more is asked of the person.
* **Summarize thread**: the thread the message is in (or the channel's latest messages, outside a thread), read
  with `GET /channels/{id}/messages` (100 a page, at most `HISTORY_MESSAGES`), asked to be summarized.
  `/summarize` does the same where it is run.
* **Add to knowledge base** (admins): the message's text (as a Markdown file) and its files go into the
  knowledge base named like the channel (a thread's: its parent's), through the core's `add_to_knowledge`.

Each answer streams into the command's own response, in its own OpenWebUI chat, as `/ask` does; refusals and
the knowledge-base result are shown only to the person who asked.
"""

from __future__ import annotations

import discord
from discord import app_commands

from adapters.discord.commands import SlashCommands
from adapters.discord.files import AttachmentFetcher
from bridge import transcripts
from bridge.core import Core
from bridge.errors import UserFacingError
from bridge.messages import Attachment

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


def register(
    tree: app_commands.CommandTree[discord.Client], commands: SlashCommands, core: Core, files: AttachmentFetcher
) -> None:
    """Add the message commands and `/summarize` to `tree`."""

    async def ask_about(interaction: discord.Interaction, message: discord.Message) -> None:
        question = transcripts.with_messages(transcripts.EXPLAIN, "The message", [line(message)])
        await commands.ask(interaction, question)

    async def summarize_thread(interaction: discord.Interaction, message: discord.Message) -> None:
        await summarize(interaction, message.channel)

    async def summarize(interaction: discord.Interaction, channel: object) -> None:
        async def question() -> str:
            if not isinstance(channel, discord.abc.Messageable):
                raise UserFacingError("I cannot read the messages here.")
            try:
                lines = await history(channel)
            except discord.HTTPException as exc:
                raise UserFacingError(f"Discord did not let me read this conversation ({exc.status}).") from None
            heading = "The thread" if isinstance(channel, discord.Thread) else "The channel's latest messages"
            return transcripts.with_messages(transcripts.SUMMARIZE, heading, lines)

        await commands.ask(interaction, question)

    async def add_to_knowledge(interaction: discord.Interaction, message: discord.Message) -> None:
        async def work() -> str:
            name = knowledge_base_of(interaction.channel)
            attached = [text_file(message)] if message.clean_content.strip() else []
            attached += [files.attachment(item) for item in message.attachments]
            if not attached:
                raise UserFacingError("That message has neither text nor files.")
            return "\n".join(await core.add_to_knowledge(name, attached))

        await commands._run(interaction, work, ephemeral=True, admin=True)

    tree.add_command(app_commands.ContextMenu(name="Ask about this message", callback=ask_about))
    tree.add_command(app_commands.ContextMenu(name="Summarize thread", callback=summarize_thread))
    tree.add_command(app_commands.ContextMenu(name="Add to knowledge base", callback=add_to_knowledge))

    @tree.command(name="summarize", description="Summarize this thread (or this channel's latest messages)")
    async def summarize_here(interaction: discord.Interaction) -> None:
        await summarize(interaction, interaction.channel)
