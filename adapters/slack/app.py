"""The Slack adapter: a slack-bolt `AsyncApp` over Socket Mode or HTTP, feeding the core.

Listeners only decide and acknowledge: the work (a turn, a command) runs in a task the adapter keeps, so
every event is acknowledged within Slack's 3 s and a shutdown can wait for, then cancel, what is running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from functools import partial
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import history
from adapters.slack.access import Access
from adapters.slack.actions import ACTION_IDS, ActionDispatcher
from adapters.slack.assistant_view import AssistantView
from adapters.slack.commands import Invocation, Respond, SlashCommands
from adapters.slack.controls import AnswerControls
from adapters.slack.events import PLATFORM, SlackTurn, command_key, is_dm, is_new_user_text, mentions, turn_for
from adapters.slack.files import slack_attachments, slack_file_hosts
from adapters.slack.http_endpoint import EventsEndpoint
from adapters.slack.linking import CALLBACK_ID, Linking
from adapters.slack.pacing import Budgets, retry_handlers
from adapters.slack.people import DisplayNames
from adapters.slack.place import ReplyPlace
from adapters.slack.recovery import mark_interrupted
from adapters.slack.settings import SlackSettings
from adapters.slack.shortcuts import MessageShortcuts
from adapters.slack.surface import tell_user
from adapters.slack.threads import FORGOTTEN_THREAD, ForgottenThreads
from bridge import texts
from bridge.core import Core
from bridge.messages import Attachment, InterruptedTurn
from bridge.outcomes import TurnStatus
from bridge.settings import ConfigError
from bridge.tasks import BackgroundTasks

log = logging.getLogger(__name__)

EMPTY_MENTION = texts.empty_message("share")
FAILED = f"⚠️ {texts.FAILED}"
NOT_SHOWN = f"⚠️ {texts.ANSWER_NOT_SHOWN}"
SCOPES = {
    "app_mentions:read": "mentions",
    "chat:write": "answers",
    "channels:history": "follow-ups in public channel threads",
    "groups:history": "follow-ups in private channel threads",
    "im:history": "direct messages",
    "files:read": "files shared with the bot",
    "commands": "the slash command",
    "users:read": "workspace admins as bridge admins",
    "assistant:write": "the “is thinking…” status and assistant thread titles",
    "files:write": "generated images and files posted in the conversation",
}


class SlackAdapter:
    """One Slack app connection, following the adapter contract (`bridge.adapter`)."""

    def __init__(self, core: Core, settings: SlackSettings) -> None:
        self.core = core
        self.settings = settings
        self.budgets = Budgets(shared=core.budgets)
        self.tasks = BackgroundTasks("Slack")
        self.http_port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._endpoint: EventsEndpoint | None = None
        self._client: AsyncWebClient | None = None
        self._file_hosts = slack_file_hosts(settings.api_url)
        self._access: Access | None = None
        self._commands: SlashCommands | None = None
        self._threads: ForgottenThreads | None = None
        self._linking: Linking | None = None
        self._names: DisplayNames | None = None
        self._controls: AnswerControls | None = None
        self.actions: ActionDispatcher | None = None
        """Every click on a bridge button (`owb:<action>:<argument>`) goes here; features register their
        actions on it when the adapter starts (`adapters.slack.actions`)."""
        self._assistant: AssistantView | None = None

    @property
    def client(self) -> AsyncWebClient:
        assert self._client is not None, "start() the adapter first"
        return self._client

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the bot token, then connect over Socket Mode or serve the events endpoint (HTTP mode).

        A token Slack refuses stops start-up with a `ConfigError` naming the variable.
        """
        try:
            await self._start()
        except BaseException:
            await self.stop(0)
            raise

    async def _start(self) -> None:
        s = self.settings
        self._session = aiohttp.ClientSession()
        self._client = AsyncWebClient(
            token=s.bot_token.get_secret_value(),
            base_url=s.api_url,
            session=self._session,
            retry_handlers=retry_handlers(),
        )
        self._access = Access(s, self._client)
        self._threads = ForgottenThreads(self._client)
        self._names = DisplayNames(self._client)
        self._commands = SlashCommands(
            command=s.command,
            core=self.core,
            client=self._client,
            budgets=self.budgets,
            access=self._access,
            answer=self.answer,
            attachments=self._attachments,
        )
        self._assistant = AssistantView(self.core, self._client, self._access, s.suggested_prompts, self.spawn)
        shortcuts = MessageShortcuts(
            core=self.core,
            access=self._access,
            answer=self.answer,
            attachments=self._attachments,
            spawn=self.spawn,
            read=partial(history.read, self._client),
        )
        app = AsyncApp(
            client=self._client,
            signing_secret=s.signing_secret.get_secret_value(),
            request_verification_enabled=s.mode == "http",
        )
        self._controls = AnswerControls(
            self.core,
            s,
            client=self._client,
            budgets_of=lambda team: self.budgets.of(team),
            access=self._access,
            spawn=self.spawn,
            names=self._names,
        )
        self.actions = ActionDispatcher(self._controls.tell, self.spawn)
        self._controls.register(self.actions)
        app.use(self._assistant.middleware())
        shortcuts.register(app)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.command(s.command)(self._on_command)
        if self.core.linking:
            self._linking = Linking(self.core, self._client, self._access, s.command)
            self.core.set_email_lookup(PLATFORM, self._names.email)
            app.view(CALLBACK_ID)(self._linking.on_submit)
        app.action(ACTION_IDS)(self.actions.on_action)
        await self._check_bot_token()
        if s.mode == "socket":
            app_token = s.app_token.get_secret_value()
            self._socket = AsyncSocketModeHandler(app, app_token)
            # slack_sdk retries a refused app token forever; asking for the first URL here turns it into an error.
            try:
                opened = await self.client.apps_connections_open(app_token=app_token)
            except SlackApiError as error:
                raise ConfigError(f"SLACK_APP_TOKEN: Slack refused it ({error.response.get('error')})") from None
            self._socket.client.wss_uri = str(opened["url"])
            await self._socket.connect_async()
            log.info("Slack: connected over Socket Mode")
            return
        self._endpoint = EventsEndpoint(
            app.web_app(path=s.http_path),
            s.http_host,
            s.http_port,
            max_connections=s.http_max_connections,
            idle_timeout=s.http_idle_timeout,
        )
        await self._endpoint.start()
        self.http_port = self._endpoint.port
        log.info("Slack: serving events at http://%s:%s%s", s.http_host, self.http_port, s.http_path)

    async def _check_bot_token(self) -> None:
        """`auth.test`: a refused token stops start-up; missing scopes are named in the log."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as error:
            raise ConfigError(f"SLACK_BOT_TOKEN: Slack refused it ({error.response.get('error')})") from None
        granted = set(str(auth.headers.get("x-oauth-scopes") or "").split(",")) - {""}
        wanted = SCOPES | ({"users:read.email": "BRIDGE_LINK_BY_EMAIL"} if self.core.links_by_email else {})
        missing = [f"{scope} ({use})" for scope, use in wanted.items() if granted and scope not in granted]
        if missing:
            log.warning("Slack: the bot token lacks scopes, so these do not work: %s", "; ".join(missing))
        log.info("Slack: signed in as %s in %s", auth.get("user"), auth.get("team"))
        if auth.get("team_id"):  # its budgets shared with the other replicas before the first message needs them
            self.budgets.of(str(auth["team_id"]))

    def ready(self) -> bool:
        """For `/readyz`: the Socket Mode connection is open, or the HTTP endpoint is serving."""
        if self._endpoint is not None:
            return self.http_port is not None
        client = self._socket.client if self._socket is not None else None
        session = client.current_session if client is not None else None
        return client is not None and not client.closed and session is not None and not session.closed

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        return await mark_interrupted(self.client, self.budgets, turn, note)

    async def wait_closed(self) -> None:
        """Slack's SDK reconnects by itself: the connection only ends when the adapter is stopped."""
        await asyncio.Event().wait()

    async def stop(self, grace: float) -> None:
        """Stop receiving, give running turns `grace` seconds to finish, cancel the rest, close."""
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close_async()
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            self.http_port = None
            await endpoint.close()
        await self.tasks.drain(grace)
        if self._session is not None:
            await self._session.close()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` after the listener returned (and bolt acknowledged), tracked for shutdown."""
        self.tasks.spawn(work, name=f"slack-{name}")

    # --- listeners ------------------------------------------------------------------------------

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        bot = context.bot_user_id or ""
        if is_dm(event) or not is_new_user_text(event, bot):
            return
        self.spawn(self._serve(self._turn(event, body, context)), "mention")

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """DMs, and thread follow-ups without a mention (a mention is `app_mention`'s), and edited questions;
        the rest is ignored."""
        bot = context.bot_user_id or ""
        if event.get("subtype") == "message_changed" and self._controls is not None:
            self._controls.on_edit(event, str(context.team_id or body.get("team_id") or ""), bot)
            return
        if not is_new_user_text(event, bot):
            return
        if is_dm(event):
            self.spawn(self._serve(self._turn(event, body, context), assistant_of=bot), "dm")
        elif event.get("thread_ts") and not mentions(event, bot):
            self.spawn(self._follow_up(self._turn(event, body, context), bot), "follow-up")

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Respond) -> None:
        await ack()
        if self._linking is not None and self._linking.handles(str(command.get("text") or "")):
            self.spawn(self._linking.run(command, respond), "link")
            return
        self.spawn(self._command(Invocation.from_payload(command), respond, command_key(command)), "command")

    # --- work -----------------------------------------------------------------------------------

    def _turn(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> SlackTurn:
        team = str(context.team_id or body.get("team_id") or event.get("team") or "")
        files = self._attachments(event.get("files") or [])
        return turn_for(event, team, context.bot_user_id or "", files)

    def _attachments(self, files: list[dict[str, Any]]) -> tuple[Attachment, ...]:
        assert self._session is not None
        token = self.settings.bot_token.get_secret_value()
        return slack_attachments(files, self._session, token, self.core.max_file_bytes, self._file_hosts)

    async def _follow_up(self, turn: SlackTurn, bot_user_id: str) -> None:
        """A thread message without a mention is answered in a thread the bridge has taken part in
        (after `new` there, it starts the thread's next chat), and in one it has no record of where Slack
        shows the app posted (`adapters.slack.threads`), with a note that the earlier messages are lost."""
        key = turn.message.key
        if await self.core.has_conversation(key, ever=True):
            await self._serve(turn)
            return
        assert self._threads is not None
        if await self._threads.took_part(key.channel, key.thread, bot_user_id):
            log.info("Slack: answering in %s, a thread the app took part in but has no record of", key.describe())
            await self._serve(turn, note=FORGOTTEN_THREAD)

    async def _serve(self, turn: SlackTurn, note: str = "", assistant_of: str = "") -> None:
        """Check who asks, then answer; a refused or empty message gets an ephemeral note, once. `note` is
        told the asker (once) before the answer. A DM message (`assistant_of`: the app's user id) may be in
        an assistant thread, whose view adds to it (`AssistantView.prepare`)."""
        message, place = turn.message, turn.place
        assert self._access is not None
        note_place = ReplyPlace(place.team_id, place.channel, turn.own_thread, place.user_id)
        refusal = self._access.refusal(place.team_id, place.channel, place.user_id, is_dm=turn.dm)
        if refusal is None and not message.text and not message.attachments:
            refusal = EMPTY_MENTION
        if refusal is not None:
            if await self.core.claim_event(PLATFORM, message.event_id):
                await tell_user(self.client, self.budgets.of(place.team_id), note_place, refusal)
            return
        if note and await self.core.claim_event(PLATFORM, f"{message.event_id}:note"):
            await tell_user(self.client, self.budgets.of(place.team_id), note_place, note)
        if assistant_of and self._assistant is not None:
            turn = await self._assistant.prepare(turn, assistant_of)
        await self.answer(turn, ())

    async def answer(self, turn: SlackTurn, knowledge: tuple[str, ...]) -> None:
        """One turn through the engine; the asker always sees an answer, a warning, or an ephemeral note."""
        place = turn.place
        budgets = self.budgets.of(place.team_id)
        assert self._controls is not None and self._names is not None
        message = dataclasses.replace(turn.message, author_name=await self._names.of(place.user_id))
        try:
            outcome = await self._controls.run(
                place,
                message.event_id,
                lambda surface: self.core.handle(message, surface, knowledge=knowledge),
                assistant_thread=turn.dm,
            )
        except Exception:
            log.exception("turn in %s failed", turn.message.key.describe())
            await tell_user(self.client, budgets, place, FAILED)
            return
        if outcome.private_note:
            await tell_user(self.client, budgets, place, f"⛔ {outcome.private_note}")
        if outcome.status == TurnStatus.FAILED and not outcome.message_ids:
            # Slack's error names its API URL and internals: the log has it (masked), the asker a sentence.
            log.warning("no answer shown in %s (%s); telling the asker", turn.message.key.describe(), outcome.error)
            await tell_user(self.client, budgets, place, NOT_SHOWN)

    async def _command(self, invocation: Invocation, respond: Respond, key: str) -> None:
        """Run a command once: one sent again with the same `trigger_id` (a replay) is acknowledged, not run."""
        assert self._commands is not None
        try:
            if key and not await self.core.claim_event(PLATFORM, key):
                log.warning("%s: an invocation seen before came again (a replay); ignored", self.settings.command)
                return
            await self._commands.run(invocation, respond)
        except Exception:
            log.exception("%s %s failed", self.settings.command, invocation.text[:40])
            await respond(text=FAILED, response_type="ephemeral")
