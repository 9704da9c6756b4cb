"""`SlackSimulator`: a fake Slack on 127.0.0.1 that the real slack-bolt / slack_sdk talk to unchanged.

The only seams are `AsyncWebClient(base_url=sim.api_url)` and the URLs the fake hands out (Socket Mode URL,
file URLs, upload URLs, response_urls). Tests act as users through the driver methods (`user_mentions_app`,
`slash_command`, ...) and read what the app did through the query methods (`bot_messages`, `calls`, ...).

    async with SlackSimulator() as sim:
        client = AsyncWebClient(token=sim.bot_token, base_url=sim.api_url)
        app = AsyncApp(client=client)
        handler = AsyncSocketModeHandler(app, sim.app_token)
        await handler.connect_async()
        posted = await sim.user_mentions_app("C0GENERAL", "U0ALICE", "hello")
        await sim.wait_bot_messages("C0GENERAL", posted.ts)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from .actions import block_actions_payload
from .assistant import AssistantApi
from .config import DEFAULT_BOT_SCOPES, SimConfig
from .delivery import Deliverer, Delivery, Kind
from .events import app_mention_event, event_callback, message_event, new_event_id, slash_command_payload
from .files import Download, FileHost
from .http_delivery import HttpAnswer, HttpDeliverer, encode
from .slash import ResponsePost, ResponseUrl, ResponseUrls, SlashInvocation
from .socket_mode import SocketModeServer
from .state import Channel, HostedFile, Message, MessageVersion, User, default_workspace, pings, visible_text
from .views import OpenView
from .web_api import CallRecord, WebApi, _guess_mimetype

# A file a simulated user attaches: (name, content) or (name, content, mimetype).
SimFile = tuple[str, bytes] | tuple[str, bytes, str]


@dataclass(slots=True)
class UserMessage:
    """A message a simulated user sent, and the event deliveries it caused (app_mention first)."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def event_ids(self) -> list[str]:
        """Event ids of the deliveries, in the order they were sent."""
        return [d.event_id for d in self.deliveries if d.event_id]

    @property
    def reply_thread_ts(self) -> str:
        """Where a reply belongs: the message's thread, or the thread it starts."""
        return self.thread_ts or self.ts

    async def acked(self, timeout: float = 5.0) -> bool:
        """Wait until every delivery of this message was acknowledged."""
        try:
            await asyncio.wait_for(asyncio.gather(*(d.acked.wait() for d in self.deliveries)), timeout)
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Ping:
    """A mention in something the app sent: `mention` is `@U…`, `!here`, `!channel`, `!everyone` or
    `!subteam^S…`, in message `ts` of `channel` (an ephemeral one only its user saw)."""

    channel: str
    ts: str
    mention: str
    ephemeral: bool = False


class SlackSimulator:
    """A fake Slack workspace served over HTTP and WebSocket on a free loopback port."""

    def __init__(
        self,
        *,
        config: SimConfig | None = None,
        bot_token: str = "xoxb-sim-bot-token",
        app_token: str = "xapp-1-sim-app-token",
        signing_secret: str = "sim-signing-secret",
        bot_scopes: set[str] | frozenset[str] = DEFAULT_BOT_SCOPES,
    ) -> None:
        self.config = config or SimConfig()
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.ws = default_workspace(bot_token, app_token, set(bot_scopes))
        self.port = 0
        self.web_api = WebApi(
            self.ws,
            self.config,
            files_base=lambda: f"{self.base_url}/files-pri/",
            upload_base=lambda: f"{self.base_url}/upload/v1/",
            issue_socket_url=lambda: self.socket.issue_url(f"ws://127.0.0.1:{self.port}/link/"),
            on_bot_message=self._echo_bot_message,
        )
        self.socket = SocketModeServer(self.config, self.ws.app_id)
        self.file_host = FileHost(self.ws, self.web_api.pending_uploads)
        self.response_urls = ResponseUrls(self.config)
        self.assistant = AssistantApi(self.ws)
        self.web_api.add_methods(self.assistant.methods(), scope="assistant:write")
        self.deliverer = Deliverer(self.config)
        self.deliverer.transport = self.socket
        self.events_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The `base_url` to give `AsyncWebClient`."""
        return f"{self.base_url}/api/"

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self.socket.handle)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self.file_host.download)
        app.router.add_get("/files-pri/{team_file}/{name}", self.file_host.download)
        app.router.add_post("/upload/v1/{file_id}", self.file_host.upload)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/redirect", self.file_host.redirect)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Stop deliveries, close sockets and the server."""
        await self.deliverer.close()
        await self.socket.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ identities and settings

    @property
    def team_id(self) -> str:
        """The workspace id (recipient_team_id for streams)."""
        return self.ws.team_id

    @property
    def bot_user_id(self) -> str:
        """The app's bot user (mentions look like `<@U0BOT>`)."""
        return self.ws.bot_user_id

    @property
    def bot_id(self) -> str:
        """The app's bot id (`bot_id` on its messages)."""
        return self.ws.bot_id

    @property
    def app_id(self) -> str:
        """The app id (`api_app_id` in payloads)."""
        return self.ws.app_id

    def use_http(self, events_url: str | Sequence[str] | None) -> None:
        """Deliver events and commands as signed POSTs to `events_url` (several: to each in turn, as a load
        balancer in front of replicas would); None goes back to Socket Mode."""
        urls = [events_url] if isinstance(events_url, str) else list(events_url or ())
        self.events_url = urls[0] if urls else None
        if not urls:
            self.deliverer.transport = self.socket
        else:
            assert self._session is not None, "start() the simulator first"
            self.deliverer.transport = HttpDeliverer(self.config, urls, self.signing_secret, self._session)

    def set_bot_scopes(self, scopes: set[str]) -> None:
        """Replace the bot token's scopes (e.g. without `files:read`)."""
        self.ws.tokens[self.bot_token].scopes = set(scopes)

    def add_user(self, user_id: str, name: str, *, is_admin: bool = False, email: str = "") -> None:
        """A new human member of every public and private channel, with a DM to the bot."""
        self.ws.users[user_id] = User(user_id, name, self.ws.team_id, is_admin=is_admin, email=email)
        for channel in self.ws.channels.values():
            if channel.kind != "im":
                channel.members.add(user_id)

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, bot_member: bool = True) -> None:
        """A new channel with every human member; the bot joins unless `bot_member` is False."""
        members = {u.id for u in self.ws.users.values() if not u.is_bot}
        if bot_member:
            members.add(self.ws.bot_user_id)
        self.ws.channels[channel_id] = Channel(channel_id, name, "private" if private else "public", members)

    def dm_channel(self, user: str) -> str:
        """The id of the DM between `user` and the bot (created on first use)."""
        for channel in self.ws.channels.values():
            if channel.kind == "im" and channel.dm_user == user:
                return channel.id
        channel_id = "D" + user.removeprefix("U")
        self.ws.channels[channel_id] = Channel(channel_id, "", "im", {user, self.ws.bot_user_id}, dm_user=user)
        return channel_id

    def close_stream(self, channel: str, ts: str) -> None:
        """End a stream as Slack does after its lifetime: later appends get `message_not_in_streaming_state`."""
        message = self.ws.find_message(channel, ts)
        if message is not None:
            message.streaming = False

    # ------------------------------------------------------------------ driver: what users do

    async def user_posts(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[SimFile] = (),
        file_urls: Mapping[str, str] | None = None,
    ) -> UserMessage:
        """A user writes in a channel (or thread): one `message` event, subtype `file_share` with files.

        `file_urls` makes a hostile event: the named files' `url_private` and `url_private_download` are
        these URLs instead of the simulator's."""
        return self._user_message(channel, user, text, thread_ts, files, mention=False, file_urls=file_urls)

    async def user_mentions_app(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[SimFile] = (),
        file_urls: Mapping[str, str] | None = None,
    ) -> UserMessage:
        """A user @-mentions the app: `app_mention` then the matching `message` event, as Slack sends both.

        `<@BOTID> ` is put in front of `text` unless it already mentions the bot. In a DM Slack sends no
        app_mention, only the message event. `file_urls`: as in `user_posts`.
        """
        mention = f"<@{self.ws.bot_user_id}>"
        if mention not in text:
            text = f"{mention} {text}"
        return self._user_message(channel, user, text, thread_ts, files, mention=True, file_urls=file_urls)

    async def user_dm(
        self, user: str, text: str, *, thread_ts: str | None = None, files: Sequence[SimFile] = ()
    ) -> UserMessage:
        """A user writes to the app in their DM (channel_type "im")."""
        return self._user_message(self.dm_channel(user), user, text, thread_ts, files, mention=False)

    async def user_edits(self, channel: str, ts: str, new_text: str) -> UserMessage:
        """A user edits a message: a `message_changed` event (hidden, carries old and new message)."""
        message = self._require_message(channel, ts)
        previous = message.to_api()
        message.text = new_text
        message.record_version("user_edit")
        now = self.ws.clock.next()
        current = {**message.to_api(), "edited": {"user": message.user, "ts": now}}
        event = self._hidden_event(channel, "message_changed", now, message=current, previous_message=previous)
        return self._deliver_events(channel, now, message.thread_ts, new_text, [event])

    async def user_deletes(self, channel: str, ts: str) -> UserMessage:
        """A user deletes a message: a `message_deleted` event."""
        message = self._require_message(channel, ts)
        previous = message.to_api()
        message.deleted = True
        now = self.ws.clock.next()
        event = self._hidden_event(channel, "message_deleted", now, deleted_ts=ts, previous_message=previous)
        return self._deliver_events(channel, now, message.thread_ts, "", [event])

    async def user_joins(self, channel: str, user: str) -> UserMessage:
        """A user joins a channel: a `channel_join` message event."""
        chan = self._require_channel(channel)
        chan.members.add(user)
        message = Message(
            channel, self.ws.clock.next(), user, f"<@{user}> has joined the channel", subtype="channel_join"
        )
        self.ws.add_message(message, "user_join")
        return self._deliver_events(channel, message.ts, None, message.text, [message_event(self.ws, chan, message)])

    async def other_bot_posts(self, channel: str, text: str, *, thread_ts: str | None = None) -> UserMessage:
        """Another integration posts: a `bot_message` event (no `user`, a foreign `bot_id`)."""
        chan = self._require_channel(channel)
        message = Message(
            channel,
            self.ws.clock.next(),
            "U0OTHERBOT",
            text,
            thread_ts=thread_ts,
            bot_id="B0OTHERBOT",
            subtype="bot_message",
        )
        self.ws.add_message(message, "bot_post")
        event = message_event(self.ws, chan, message)
        event.pop("user", None)
        event["username"] = "otherbot"
        return self._deliver_events(channel, message.ts, thread_ts, text, [event])

    async def slash_command(self, command: str, text: str, user: str, channel: str) -> SlashInvocation:
        """A user runs `command text`; the app gets a `slash_commands` delivery with a fresh response_url."""
        chan = self._require_channel(channel)
        response_url, url = self.response_urls.issue(f"{self.base_url}/response/", channel, user)
        payload = slash_command_payload(self.ws, chan, user, command, text, response_url)
        self.web_api.views.issue(payload["trigger_id"], user, channel)
        delivery = self.deliverer.deliver("slash_commands", dict(payload))
        return SlashInvocation(command, text, user, channel, response_url, delivery, url)

    def deliver_event(self, event: dict[str, Any], event_id: str | None = None) -> Delivery:
        """Deliver any hand-built event (wrapped in an event_callback) — for payloads the driver lacks."""
        body = event_callback(self.ws, event, event_id)
        return self.deliverer.deliver("events_api", body, body["event_id"])

    def opened_views(self, user: str | None = None) -> list[OpenView]:
        """Modals apps opened (`views.open`), oldest first; only `user`'s when given."""
        return [v for v in self.web_api.views.opened if user is None or v.user == user]

    async def user_submits_view(self, opened: OpenView, values: dict[str, str], timeout: float = 5.0) -> Delivery:
        """The user submits `opened` with `values` (by action_id): a `view_submission` goes to the app, and its
        acknowledgement closes the modal, shows errors in it, or updates it (`OpenView`)."""
        if opened.closed:
            raise ValueError("that modal is closed")
        delivery = self.deliver_interactive(self.web_api.views.submission(opened, values))
        await asyncio.wait_for(delivery.acked.wait(), timeout)
        self.web_api.views.answered(opened, delivery.ack_payload)
        return delivery

    async def user_clicks(self, channel: str, ts: str, user: str, action_id: str) -> Delivery:
        """A user clicks button `action_id` on message `ts` (or on an ephemeral message `ts` they were
        shown): a `block_actions` interactive delivery with a fresh response_url, as Slack sends it."""
        chan = self._require_channel(channel)
        shown_to_them = [
            e for e in self.ws.ephemerals if e["channel"] == channel and e["ts"] == ts and e["user"] == user
        ]
        message = shown_to_them[0] if shown_to_them else self._require_message(channel, ts)
        response_url, _ = self.response_urls.issue(f"{self.base_url}/response/", channel, user)
        payload = block_actions_payload(self.ws, chan, message, user, action_id, response_url)
        return self.deliverer.deliver("interactive", payload)

    def deliver_interactive(self, payload: dict[str, Any]) -> Delivery:
        """Deliver an `interactive` payload (block_actions, view_submission, ...) as given."""
        return self.deliverer.deliver("interactive", payload)

    def deliver_again(self, event_id: str, reason: str = "timeout") -> Delivery:
        """Send an earlier event once more with the next retry number, as Slack does on a retry."""
        return self.deliverer.deliver_again(event_id, reason)

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        """Send `disconnect` to every Socket Mode client (they should reconnect)."""
        await self.socket.disconnect_all(reason)

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:
        """Wait until at least one Socket Mode connection is open."""
        await asyncio.wait_for(self.socket.connected.wait(), timeout)

    async def send_http(
        self,
        kind: Kind,
        payload: dict[str, Any],
        *,
        signature: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> HttpAnswer:
        """One POST to the events URL (`url`: one of several given to `use_http`; by default the next in turn)
        outside the retry machinery — to send a bad signature or a stale timestamp (e.g.
        `timestamp=int(time.time()) - 600`)."""
        transport = self.deliverer.transport
        if not isinstance(transport, HttpDeliverer):
            raise RuntimeError("call use_http(url) first")
        body, content_type = encode(kind, payload)
        return await transport.send(transport.signed(body, content_type, signature, timestamp), url)

    async def replay_http(self, delivery: Delivery) -> HttpAnswer:
        """Send `delivery`'s last HTTP attempt again, unchanged: same body, timestamp and signature (a captured
        request replayed; its signature stays valid for Slack's five minutes)."""
        transport = self.deliverer.transport
        sent = delivery.attempts[-1].sent if delivery.attempts else None
        if not isinstance(transport, HttpDeliverer) or sent is None:
            raise RuntimeError("only a delivery made over HTTP (use_http) can be replayed")
        return await transport.send(sent)

    async def url_verification(self, challenge: str = "sim-challenge") -> HttpAnswer:
        """The handshake Slack does when a Request URL is saved; the app must echo the challenge."""
        payload = {"token": "sim-verification-token", "challenge": challenge, "type": "url_verification"}
        return await self.send_http("events_api", payload)

    def build_message_event(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> dict:
        """An event_callback body for a new user message without delivering it (for send_http)."""
        chan = self._require_channel(channel)
        message = Message(channel, self.ws.clock.next(), user, text, thread_ts=thread_ts)
        self.ws.add_message(message, "user_post")
        return event_callback(self.ws, message_event(self.ws, chan, message))

    def redirect_url(self, to: str) -> str:
        """A URL on the simulator's own host that answers 302 to `to` (an open redirect on Slack's host)."""
        return f"{self.base_url}/redirect?{urlencode({'to': to})}"

    def add_file(self, name: str, content: bytes, mimetype: str | None = None, user: str = "U0ALICE") -> dict:
        """Host a file and return its Slack file object (with `url_private_download`)."""
        hosted = HostedFile(
            id=self.ws.new_id("F"), name=name, mimetype=mimetype or _guess_mimetype(name), user=user, content=content
        )
        self.ws.files[hosted.id] = hosted
        return hosted.to_api(f"{self.base_url}/files-pri/", self.ws.team_id)

    # ------------------------------------------------------------------ queries: what the app did

    def bot_message_records(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """The app's messages (not deleted) in a thread, or at the top level when `thread_ts` is None."""
        messages = self.ws.thread(channel, thread_ts) if thread_ts else self.ws.top_level(channel)
        return [m for m in messages if m.user == self.ws.bot_user_id]

    def bot_messages(self, channel: str, thread_ts: str | None = None) -> list[str]:
        """Visible text of each of the app's messages there, oldest first (streams: all appended text)."""
        return [m.visible_text for m in self.bot_message_records(channel, thread_ts)]

    def message(self, channel: str, ts: str) -> Message | None:
        """A message by its ts (None if unknown or deleted)."""
        return self.ws.find_message(channel, ts)

    def message_history(self, channel: str, ts: str) -> list[MessageVersion]:
        """Every version of a message with the monotonic time it appeared, oldest first."""
        for message in self.ws.messages.get(channel, []):
            if message.ts == ts:
                return list(message.versions)
        return []

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and ephemeral response_url posts), oldest first."""
        return [
            e
            for e in self.ws.ephemerals
            if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
        ]

    def pings(self) -> list[Ping]:
        """Every mention that notified someone in what the app sent: any version of its messages (their
        `text` and their blocks) and its ephemeral messages, oldest first."""
        found: list[Ping] = []
        for channel, messages in self.ws.messages.items():
            for message in messages:
                if message.user != self.ws.bot_user_id:
                    continue
                for version in message.versions:
                    for mention in dict.fromkeys(pings(version.text or "") + pings(version.visible_text)):
                        found.append(Ping(channel, message.ts, mention))
        for note in self.ws.ephemerals:
            for mention in dict.fromkeys(pings(note["text"]) + pings(note["visible_text"])):
                found.append(Ping(note["channel"], note["ts"], mention, ephemeral=True))
        return found

    def thread_statuses(self, channel: str, thread_ts: str) -> list[str]:
        """Statuses set with assistant.threads.setStatus on a thread, in order ("" clears)."""
        return [status for _, status in self.ws.thread_status.get((channel, thread_ts), [])]

    def thread_titles(self, channel: str, thread_ts: str) -> list[str]:
        """Titles set with assistant.threads.setTitle on a thread, in order."""
        return list(self.assistant.threads.titles.get((channel, thread_ts), []))

    def calls(self, method: str | None = None) -> list[CallRecord]:
        """Every Web API call (or those of one method), oldest first."""
        return [c for c in self.web_api.calls if method is None or c.method == method]

    def count_429(self, method: str | None = None) -> int:
        """How many calls were answered 429."""
        return sum(1 for c in self.calls(method) if c.status == 429)

    def responses(self, invocation: SlashInvocation | None = None) -> list[ResponsePost]:
        """Accepted response_url posts of one invocation, or of all of them."""
        if invocation is not None:
            return invocation.responses
        return [p for url in self.response_urls.urls.values() for p in url.posts if p.accepted]

    def deliveries(self, event_id: str | None = None) -> list[Delivery]:
        """Every delivery (or the one of `event_id`) with its attempts."""
        return [d for d in self.deliverer.deliveries if event_id is None or d.event_id == event_id]

    @property
    def downloads(self) -> list[Download]:
        """Every file download request, authorized or not."""
        return self.file_host.downloads

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
        """Poll `predicate` until true or `timeout`; returns its last value."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(interval)
        return True

    async def wait_bot_messages(
        self, channel: str, thread_ts: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[str]:
        """Wait until the app has `count` messages there and none is still streaming; returns their text."""

        def ready() -> bool:
            records = self.bot_message_records(channel, thread_ts)
            return len(records) >= count and not any(m.streaming for m in records)

        await self.wait_for(ready, timeout)
        return self.bot_messages(channel, thread_ts)

    # ------------------------------------------------------------------ internals

    def _user_message(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None,
        files: Sequence[SimFile],
        *,
        mention: bool,
        file_urls: Mapping[str, str] | None = None,
    ) -> UserMessage:
        chan = self._require_channel(channel)
        if user not in self.ws.users:
            raise KeyError(f"unknown user {user!r}")
        file_objects = [self.add_file(f[0], f[1], f[2] if len(f) > 2 else None, user) for f in files]  # type: ignore[misc]
        hostile = file_urls or {}
        for obj in file_objects:
            if obj["name"] in hostile:
                obj["url_private"] = obj["url_private_download"] = hostile[obj["name"]]
        for obj in file_objects:
            self.ws.files[obj["id"]].shared_in.add(channel)
        message = Message(
            channel,
            self.ws.clock.next(),
            user,
            text,
            thread_ts=thread_ts,
            files=file_objects,
            subtype="file_share" if file_objects else None,
        )
        self.ws.add_message(message, "user_post")
        events = []
        if mention and chan.kind != "im":
            events.append(app_mention_event(self.ws, chan, message))
        events.append(message_event(self.ws, chan, message))
        return self._deliver_events(channel, message.ts, thread_ts, text, events)

    def _deliver_events(
        self, channel: str, ts: str, thread_ts: str | None, text: str, events: list[dict[str, Any]]
    ) -> UserMessage:
        posted = UserMessage(channel=channel, ts=ts, thread_ts=thread_ts, text=text)
        for event in events:
            event_id = new_event_id()
            body = event_callback(self.ws, event, event_id)
            posted.deliveries.append(self.deliverer.deliver("events_api", body, event_id))
        return posted

    def _hidden_event(self, channel: str, subtype: str, ts: str, **fields: Any) -> dict[str, Any]:
        chan = self._require_channel(channel)
        return {
            "type": "message",
            "subtype": subtype,
            "hidden": True,
            "channel": channel,
            "ts": ts,
            "event_ts": ts,
            "channel_type": chan.channel_type,
            **fields,
        }

    def _echo_bot_message(self, message: Message) -> None:
        """Slack tells the app about its own posts too; the app must recognise and ignore them."""
        chan = self.ws.channel(message.channel)
        if self.config.echo_bot_messages and chan is not None:
            event = message_event(self.ws, chan, message)
            body = event_callback(self.ws, event)
            self.deliverer.deliver("events_api", body, body["event_id"])

    def _require_channel(self, channel: str) -> Channel:
        chan = self.ws.channel(channel)
        if chan is None:
            raise KeyError(f"unknown channel {channel!r}")
        return chan

    def _require_message(self, channel: str, ts: str) -> Message:
        message = self.ws.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return message

    def _show_response(self, url: ResponseUrl, post: ResponsePost) -> None:
        """in_channel answers become app messages in the channel; ephemeral ones go to the user only."""
        body = post.body
        text = str(body.get("text") or "")
        blocks = body.get("blocks")
        if post.response_type == "in_channel":
            message = Message(
                url.channel,
                self.ws.clock.next(),
                self.ws.bot_user_id,
                text,
                blocks=blocks,
                thread_ts=body.get("thread_ts"),
                bot_id=self.ws.bot_id,
            )
            self.ws.add_message(message, "response_url")
            return
        self.ws.ephemerals.append(
            {
                "at": post.at,
                "channel": url.channel,
                "user": url.user,
                "ts": self.ws.clock.next(),
                "thread_ts": body.get("thread_ts"),
                "text": text,
                "blocks": blocks,
                "visible_text": visible_text(text, blocks),
            }
        )

    # ------------------------------------------------------------------ HTTP handlers

    async def _api(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    body = await request.json()
                    if isinstance(body, dict):
                        params.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        form_token = params.pop("token", None)
        answer = await self.web_api.call(request.match_info["method"], params, token or form_token)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def _response_url(self, request: web.Request) -> web.Response:
        return await self.response_urls.handle(request, self._show_response)
