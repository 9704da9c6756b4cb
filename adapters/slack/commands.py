"""The slash command (`/owui` by default) and its subcommands.

Every invocation is acknowledged at once and worked on in a background task; answers go through
`respond()`, ephemeral unless the whole channel needs to know (a changed model or system prompt).

`ask` and `kb ask` post the question as a message in the channel and stream the answer into its thread:
`respond()` can be used only five times, so it cannot carry a streamed answer, and a thread makes the
question a conversation like any mention (follow-ups in it continue without a mention). A slash command
does not say which thread it was typed in, so commands about one conversation (`new`, `status`) take a
message link, and `kb add` takes the link of the message whose files to add (default: the latest
message with files at the channel's top level).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import NOT_ADMIN, Access
from adapters.slack.events import PLATFORM, SlackTurn, dedupe_key, plain_text
from adapters.slack.pacing import Budgets, paced
from adapters.slack.place import ReplyPlace
from adapters.slack.text import defuse_mrkdwn, escape
from bridge import texts
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.messages import Attachment, ConversationKey, IncomingMessage

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
_LINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})(?:\?\S*?thread_ts=(\d+\.\d+))?")
HISTORY_DEPTH = 50
MARKUP = texts.Markup(bold=lambda text: f"*{text}*", quote=lambda text: f"\n>>> {text}")
HERE = "here"


def help_text(command: str) -> str:
    return "\n".join(
        [
            "*OpenWebUI in Slack*",
            "• Mention me in a channel and I answer in a thread; keep talking there without mentioning me.",
            "• In a DM, the conversation is the DM itself; each thread in it is a conversation of its own.",
            "• Files you share in a conversation reach the model.",
            f"`{command} ask <question>`: ask here; the answer opens a thread",
            f"`{command} new [thread link]`: the next message starts a new chat (this DM, or the linked thread)",
            f"`{command} model [name]`: show the model of this channel, or set it (admins)",
            f"`{command} system [prompt|clear]`: show this channel's system prompt, or set or clear it (admins)",
            f"`{command} tools [tool [on|off|default]]`: show the OpenWebUI tools used here, or switch one (admins)",
            f"`{command} features [feature on|off|default]`: show the features used here (web search, image"
            " generation, code interpreter, memory), or switch one (admins)",
            "• Start a message with `!search` to have OpenWebUI search the web for that answer, or `!image` for a "
            "picture.",
            f"`{command} prompt <command> [name=value …] [text]`: ask with a prompt of OpenWebUI's prompt library",
            f"`{command} kb list`: the knowledge bases",
            f"`{command} kb ask <kb> <question>`: ask a knowledge base; the sources are named",
            f"`{command} kb add <kb> [message link]`: add a message's files to a knowledge base (admins);"
            " without a link, the latest message with files in this channel",
            f"`{command} status [thread link]`: OpenWebUI, the model here, and the conversation's chat",
            f"`{command} help`: this help",
        ]
    )


@dataclass(frozen=True, slots=True)
class Invocation:
    """One use of the slash command, from Slack's payload."""

    team_id: str
    channel_id: str
    user_id: str
    text: str

    @property
    def is_dm(self) -> bool:
        return self.channel_id.startswith("D")

    @property
    def channel_key(self) -> ConversationKey:
        """Settings scope of the channel (inherited by its threads); a DM's own conversation."""
        return ConversationKey(PLATFORM, self.team_id, self.channel_id, "")

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Invocation:
        """The text with Slack's markup and escapes undone, as a message's (`&lt;` is "<", a mention a name)."""
        return cls(
            team_id=str(payload.get("team_id") or ""),
            channel_id=str(payload.get("channel_id") or ""),
            user_id=str(payload.get("user_id") or ""),
            text=plain_text(str(payload.get("text") or ""), bot_user_id=""),
        )


def naming_only(asker: str, respond: Respond) -> Respond:
    """`respond` whose texts ping nobody but `asker`: they quote what people and OpenWebUI named (prompts,
    model and knowledge-base names, files)."""

    async def defused(*, text: str, **options: Any) -> Any:
        return await respond(text=defuse_mrkdwn(text, asker=asker), **options)

    return defused


def parse_link(text: str) -> tuple[str, str, str | None] | None:
    """(channel, ts, thread_ts) of a Slack message link (`…/archives/C…/p1700000000123456?thread_ts=…`)."""
    match = _LINK.search(text)
    if match is None:
        return None
    channel, seconds, micros, thread_ts = match.groups()
    return channel, f"{seconds}.{micros}", thread_ts


def split_name(text: str) -> tuple[str, str]:
    """The first word, or a "quoted name" with spaces, and the rest."""
    text = text.strip()
    for quote in ('"', "“"):
        if text.startswith(quote):
            closing = "”" if quote == "“" else '"'
            end = text.find(closing, 1)
            if end > 0:
                return text[1:end], text[end + 1 :].strip()
    name, _, rest = text.partition(" ")
    return name, rest.strip()


class SlashCommands:
    """Parses and runs the subcommands; `answer` runs a turn (shared with mentions)."""

    def __init__(
        self,
        *,
        command: str,
        core: Core,
        client: AsyncWebClient,
        budgets: Budgets,
        access: Access,
        answer: Callable[[SlackTurn, tuple[str, ...]], Awaitable[None]],
        attachments: Callable[[list[dict[str, Any]]], tuple[Attachment, ...]],
    ) -> None:
        self.command = command
        self.core = core
        self.client = client
        self.budgets = budgets
        self.access = access
        self.answer = answer
        self.attachments = attachments

    async def run(self, invocation: Invocation, respond: Respond) -> None:
        """Run one invocation (already acknowledged); every outcome ends in an answer to the user."""
        refusal = self.access.refusal(
            invocation.team_id, invocation.channel_id, invocation.user_id, is_dm=invocation.is_dm
        )
        respond = naming_only(invocation.user_id, respond)
        if refusal:
            await respond(text=refusal, response_type="ephemeral")
            return
        name, rest = split_name(invocation.text)
        handler = {
            "ask": self._ask,
            "new": self._new,
            "model": self._model,
            "system": self._system,
            "tools": self._tools,
            "features": self._features,
            "kb": self._kb,
            "status": self._status,
            "prompt": self._prompt,
        }.get(name.lower())
        try:
            if handler is None:
                await respond(text=help_text(self.command), response_type="ephemeral")
            else:
                async with self.core.as_person(PLATFORM, invocation.user_id):
                    await handler(invocation, rest, respond)
        except (UserFacingError, OpenWebUIError) as exc:
            await respond(text=f"⚠️ {explain(exc)}", response_type="ephemeral")

    # --- conversations --------------------------------------------------------------------------

    async def _ask(
        self, inv: Invocation, question: str, respond: Respond, knowledge: tuple[str, str] | None = None
    ) -> None:
        if not question:
            raise UserFacingError(f"Ask something: `{self.command} ask <question>`.")
        label = f" *{escape(knowledge[0])}*" if knowledge else ""
        budgets = self.budgets.of(inv.team_id)
        try:
            root = await paced(
                budgets.channel_post(inv.channel_id),
                lambda: self.client.chat_postMessage(
                    channel=inv.channel_id, text=f"<@{inv.user_id}> asked{label}: {escape(question)}"
                ),
                urgent=True,
                also=(budgets.post,),
            )
        except SlackApiError as error:
            if error.response.get("error") in ("not_in_channel", "channel_not_found"):
                raise UserFacingError(
                    "I am not a member of this conversation; invite me (`/invite @app`) or ask me in a DM."
                ) from error
            raise
        ts = str(root["ts"])
        message = IncomingMessage(
            key=ConversationKey(PLATFORM, inv.team_id, inv.channel_id, ts),
            event_id=dedupe_key(inv.team_id, inv.channel_id, ts),
            author_id=inv.user_id,
            author_name=inv.user_id,
            text=question,
        )
        turn = SlackTurn(message, ReplyPlace(inv.team_id, inv.channel_id, ts, inv.user_id), ts, dm=inv.is_dm)
        await self.answer(turn, (knowledge[1],) if knowledge else ())

    async def _prompt(self, inv: Invocation, rest: str, respond: Respond) -> None:
        """A prompt of OpenWebUI's library, its variables filled from the rest (`bridge.prompts`), asked as `ask`."""
        command, text = split_name(rest)
        if not command:
            names = ", ".join(f"`{p.command}`" for p in (await self.core.prompts())[:25]) or "none yet"
            raise UserFacingError(f"Use `{self.command} prompt <command> [name=value …] [text]`. Prompts: {names}.")
        await self._ask(inv, await self.core.prompt_question(command, text, inv.user_id), respond)

    async def _new(self, inv: Invocation, rest: str, respond: Respond) -> None:
        key = await self._conversation_key(inv, rest)
        if key is None:
            raise UserFacingError(
                "In a channel each thread is its own conversation: mention me in a new message to start one, "
                f"or give the thread's link (`{self.command} new <link>`) to start it over."
            )
        where = "in this DM" if key.thread == "" else "in that thread"
        await respond(text=texts.new_chat(await self.core.new_conversation(key), where), response_type="ephemeral")

    async def _conversation_key(self, inv: Invocation, rest: str) -> ConversationKey | None:
        """The conversation a command is about: a linked thread, else a DM's own conversation."""
        link = parse_link(rest)
        if link is None:
            return inv.channel_key if inv.is_dm else None
        channel, ts, thread_ts = link
        candidates = [ConversationKey(PLATFORM, inv.team_id, channel, thread_ts or ts)]
        if channel.startswith("D") and not thread_ts:
            candidates.append(ConversationKey(PLATFORM, inv.team_id, channel, ""))
        for key in candidates:
            if await self.core.has_conversation(key):
                return key
        return candidates[0]

    # --- settings -------------------------------------------------------------------------------

    async def _model(self, inv: Invocation, name: str, respond: Respond) -> None:
        if not name:
            model, _ = await self.core.effective_settings(inv.channel_key)
            names = [m.id for m in await self.core.models()]
            change = f"Admins can change it with `{self.command} model <name>`."
            await respond(text=texts.model_shown(model, HERE, names, change), response_type="ephemeral")
            return
        await self._require_admin(inv)
        model = await self.core.set_model(inv.channel_key, name)
        await respond(text=texts.model_set(model.id, HERE, f"<@{inv.user_id}>"), response_type="in_channel")

    async def _system(self, inv: Invocation, prompt: str, respond: Respond) -> None:
        if not prompt:
            _, current = await self.core.effective_settings(inv.channel_key)
            change = f"Admins can set one with `{self.command} system <prompt>`."
            await respond(text=texts.prompt_shown(current, HERE, change, MARKUP), response_type="ephemeral")
            return
        await self._require_admin(inv)
        who = f"<@{inv.user_id}>"
        if prompt.lower() == "clear":
            await self.core.set_system_prompt(inv.channel_key, "")
            _, inherited = await self.core.effective_settings(inv.channel_key)
            text = texts.prompt_cleared(inherited, HERE, who, MARKUP)
        else:
            await self.core.set_system_prompt(inv.channel_key, prompt)
            text = texts.prompt_set(prompt, HERE, who, MARKUP)
        await respond(text=text, response_type="in_channel")

    async def _tools(self, inv: Invocation, rest: str, respond: Respond) -> None:
        name, state = split_name(rest)
        if not name:
            change = f"Admins switch one with `{self.command} tools <tool> on|off|default`."
            text = texts.tools_shown(await self.core.assistance(inv.channel_key), HERE, change)
            await respond(text=text, response_type="ephemeral")
            return
        on = self._state(state or "on", f"{self.command} tools <tool> on|off|default")
        await self._require_admin(inv)
        tool = await self.core.switch_tool(inv.channel_key, name, on)
        await respond(text=texts.switched("Tool", tool.id, on, HERE, f"<@{inv.user_id}>"), response_type="in_channel")

    async def _features(self, inv: Invocation, rest: str, respond: Respond) -> None:
        feature, state = split_name(rest)
        usage = f"{self.command} features <feature> on|off|default"
        if not feature:
            change = f"Admins switch one with `{usage}`."
            text = texts.features_shown(await self.core.assistance(inv.channel_key), HERE, change)
            await respond(text=text, response_type="ephemeral")
            return
        on = self._state(state, usage)
        await self._require_admin(inv)
        await self.core.switch_feature(inv.channel_key, feature, on)
        text = texts.switched("Feature", feature, on, HERE, f"<@{inv.user_id}>")
        await respond(text=text, response_type="in_channel")

    @staticmethod
    def _state(word: str, usage: str) -> bool | None:
        """`on`, `off` or `default`; anything else is answered with the command's usage."""
        try:
            return texts.SWITCH_STATES[word.strip().lower()]
        except KeyError:
            raise UserFacingError(f"Use `{usage}`.") from None

    async def _require_admin(self, inv: Invocation) -> None:
        if not await self.access.is_admin(inv.user_id):
            raise UserFacingError(NOT_ADMIN)

    # --- knowledge ------------------------------------------------------------------------------

    async def _kb(self, inv: Invocation, rest: str, respond: Respond) -> None:
        action, rest = split_name(rest)
        action = action.lower()
        if action == "list":
            bases = [(b.name, b.description) for b in await self.core.knowledge_bases()]
            ask = f"{self.command} kb ask <kb> <question>"
            await respond(text=texts.knowledge_list(bases, ask, MARKUP), response_type="ephemeral")
        elif action == "ask":
            name, question = split_name(rest)
            if not name or not question:
                raise UserFacingError(f"Use `{self.command} kb ask <kb> <question>`.")
            await self._ask(inv, question, respond, (name, await self.core.find_knowledge(name)))
        elif action == "add":
            name, link = split_name(rest)
            if not name:
                raise UserFacingError(f"Use `{self.command} kb add <kb> [message link]`.")
            await self._require_admin(inv)
            files = await self._files_of(inv, link)
            lines = await self.core.add_to_knowledge(name, list(self.attachments(files)))
            await respond(text="\n".join(lines), response_type="ephemeral")
        else:
            raise UserFacingError(f"Use `{self.command} kb list`, `kb ask <kb> <question>` or `kb add <kb> [link]`.")

    async def _files_of(self, inv: Invocation, link_text: str) -> list[dict[str, Any]]:
        """The files of the linked message, or of the latest message with files at this channel's top level."""
        link = parse_link(link_text)
        try:
            if link is not None:
                channel, ts, thread_ts = link
                page = await self.client.conversations_replies(
                    channel=channel, ts=thread_ts or ts, oldest=ts, latest=ts, inclusive=True, limit=HISTORY_DEPTH
                )
                messages = [m for m in page.get("messages", []) if m.get("ts") == ts]
            else:
                page = await self.client.conversations_history(channel=inv.channel_id, limit=HISTORY_DEPTH)
                messages = page.get("messages", [])
        except SlackApiError as error:
            raise UserFacingError(
                f"Slack did not let me read that message ({error.response.get('error')}); am I in that channel?"
            ) from error
        for message in messages:
            if message.get("files"):
                return list(message["files"])
        raise UserFacingError(
            "I found no files there. Share the files in this channel first, or give the link of the message "
            f"that has them (`{self.command} kb add <kb> <message link>`)."
        )

    # --- status ---------------------------------------------------------------------------------

    async def _status(self, inv: Invocation, rest: str, respond: Respond) -> None:
        key = await self._conversation_key(inv, rest)
        text = texts.status(
            await self.core.status(key or inv.channel_key),
            where=HERE,
            is_conversation=key is not None,
            per_thread=f"each thread here is its own (`{self.command} status <thread link>`).",
        )
        await respond(text=text, response_type="ephemeral")
