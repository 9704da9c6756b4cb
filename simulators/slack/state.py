"""The fake workspace: who exists, which conversations, which messages, and every version of each message.

Messages keep their whole version history with monotonic timestamps because the questions tests ask are
about what a user *saw and when* (did the reply grow smoothly, was the final text right), not only about
the last state.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

ChannelKind = Literal["public", "private", "im"]
TokenKind = Literal["bot", "app", "user"]


@dataclass(slots=True)
class User:
    """A workspace member; the app's bot user has `bot_id` set."""

    id: str
    name: str
    team_id: str
    real_name: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    is_admin: bool = False
    email: str = ""
    """In `profile.email` only for a token with `users:read.email`."""
    email_confirmed: bool = True

    def to_api(self, *, with_email: bool = False) -> dict[str, Any]:
        """The `user` object of users.info; `with_email`: the token has `users:read.email`."""
        real = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": real,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_app_user": False,
            "is_email_confirmed": bool(self.email) and self.email_confirmed,
            "tz": "Europe/Paris",
            "profile": {
                "real_name": real,
                "display_name": self.name,
                "team": self.team_id,
                **({"bot_id": self.bot_id} if self.bot_id else {}),
                **({"email": self.email} if self.email and with_email else {}),
            },
        }


@dataclass(slots=True)
class Channel:
    """A conversation: public or private channel, or a DM (`im`) with one user."""

    id: str
    name: str
    kind: ChannelKind
    members: set[str] = field(default_factory=set)
    dm_user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def channel_type(self) -> str:
        """The `channel_type` Slack puts on message events."""
        return {"public": "channel", "private": "group", "im": "im"}[self.kind]

    def to_api(self, bot_user_id: str) -> dict[str, Any]:
        """The `channel` object of conversations.info."""
        base: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_archived": False,
            "is_channel": self.kind != "im",
            "is_group": False,
            "is_im": self.kind == "im",
            "is_mpim": False,
            "is_private": self.kind != "public",
            "is_member": bot_user_id in self.members or self.kind == "im",
        }
        if self.kind == "im":
            base["user"] = self.dm_user
        else:
            base.update(name=self.name, name_normalized=self.name, num_members=len(self.members))
        return base


@dataclass(slots=True)
class MessageVersion:
    """One state of a message as users saw it from `at` (time.monotonic()) on."""

    at: float
    text: str
    blocks: list[dict[str, Any]] | None
    visible_text: str
    method: str


@dataclass(slots=True)
class Message:
    """A message in a channel; thread replies carry the parent's ts as `thread_ts`."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    streaming: bool = False
    stream_started_at: float | None = None
    versions: list[MessageVersion] = field(default_factory=list)

    @property
    def visible_text(self) -> str:
        """What a reader sees: the blocks' text when there are blocks, else `text`."""
        return visible_text(self.text, self.blocks)

    def record_version(self, method: str) -> None:
        """Append the current content to the history (called after every change)."""
        self.versions.append(
            MessageVersion(
                at=time.monotonic(),
                text=self.text,
                blocks=self.blocks,
                visible_text=self.visible_text,
                method=method,
            )
        )

    def to_api(self, replies: list[Message] | None = None) -> dict[str, Any]:
        """The message object of conversations.history/replies."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.subtype:
            out["subtype"] = self.subtype
        if self.files:
            out["files"] = self.files
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": users, "count": len(users)} for name, users in self.reactions.items()
            ]
        if replies:
            out["thread_ts"] = self.ts
            out["reply_count"] = len(replies)
            out["latest_reply"] = replies[-1].ts
            out["reply_users"] = sorted({r.user for r in replies})
        return out


_PING = re.compile(r"<(@[UW][A-Z0-9]+|!(?:here|channel|everyone)|!subteam\^[A-Z0-9]+)(?=[|>])")


def pings(text: str) -> list[str]:
    """The mentions in Slack's markup that notify someone: a user (`<@U…>`), a user group
    (`<!subteam^S…>`), a whole channel (`<!here>`, `<!channel>`, `<!everyone>`). A channel link (`<#C…>`)
    notifies nobody."""
    return [match.group(1) for match in _PING.finditer(text)]


def visible_text(text: str, blocks: list[dict[str, Any]] | None) -> str:
    """Text a Slack client shows for `text` + `blocks`; blocks win, joined by newlines.

    Only blocks that carry reading text count (markdown, section, header, context, rich_text); buttons and
    dividers add nothing, so a reply with feedback buttons still compares equal to the model's text.
    """
    if not blocks:
        return text
    parts = [t for t in (_block_text(b) for b in blocks) if t]
    return "\n".join(parts)


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "markdown":
        return str(block.get("text", ""))
    if kind in ("section", "header"):
        text = block.get("text") or {}
        parts = [str(text.get("text", ""))] if text else []
        parts += [str(f.get("text", "")) for f in block.get("fields") or []]
        return "\n".join(p for p in parts if p)
    if kind == "context":
        return " ".join(str(e.get("text", "")) for e in block.get("elements") or [] if "text" in e)
    if kind == "rich_text":
        return _rich_text(block.get("elements") or [])
    return ""


def _rich_text(elements: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for element in elements:
        if "text" in element and isinstance(element["text"], str):
            out.append(element["text"])
        if "elements" in element:
            out.append(_rich_text(element["elements"]))
    return "".join(out)


@dataclass(slots=True)
class Token:
    """A credential the fake accepts, with the scopes it grants."""

    value: str
    kind: TokenKind
    scopes: set[str]
    user_id: str | None = None


@dataclass(slots=True)
class HostedFile:
    """A file the fake serves at `url_private_download`; `content` is None until uploaded."""

    id: str
    name: str
    mimetype: str
    user: str
    content: bytes | None
    title: str = ""
    created: int = field(default_factory=lambda: int(time.time()))
    shared_in: set[str] = field(default_factory=set)

    def to_api(self, files_base: str, team_id: str) -> dict[str, Any]:
        """The Slack file object (as in `files[]` of file_share events and files.info)."""
        ext = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        base = f"{files_base}{team_id}-{self.id}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.user,
            "user_team": team_id,
            "editable": False,
            "size": len(self.content or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "url_private": f"{base}/{self.name}",
            "url_private_download": f"{base}/download/{self.name}",
            "permalink": f"{base}/{self.name}",
            "channels": sorted(self.shared_in),
        }


class TsClock:
    """Hands out unique, increasing Slack timestamps ("seconds.micros") from the wall clock."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        """A new ts strictly greater than every earlier one."""
        micros = max(int(time.time() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class Workspace:
    """One team with its members, conversations, messages, files and tokens."""

    team_id: str = "T0SIMTEAM"
    team_name: str = "Sim Team"
    team_domain: str = "simteam"
    app_id: str = "A0SIMAPP"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, HostedFile] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    thread_status: dict[tuple[str, str], list[tuple[float, str]]] = field(default_factory=dict)
    clock: TsClock = field(default_factory=TsClock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id such as F0000007."""
        return f"{prefix}{next(self._ids):07d}"

    def channel(self, channel_id: str) -> Channel | None:
        """The channel, or None if unknown."""
        return self.channels.get(channel_id)

    def add_message(self, message: Message, method: str) -> Message:
        """Store a new message and its first version."""
        self.messages.setdefault(message.channel, []).append(message)
        message.record_version(method)
        return message

    def find_message(self, channel: str, ts: str) -> Message | None:
        """The (not deleted) message `ts` in `channel`, or None."""
        for message in self.messages.get(channel, []):
            if message.ts == ts and not message.deleted:
                return message
        return None

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Parent then replies of a thread, oldest first, without deleted messages."""
        found = [
            m
            for m in self.messages.get(channel, [])
            if not m.deleted and (m.ts == thread_ts or m.thread_ts == thread_ts)
        ]
        return sorted(found, key=lambda m: float(m.ts))

    def top_level(self, channel: str) -> list[Message]:
        """Messages not in a thread (or thread parents), oldest first."""
        found = [
            m for m in self.messages.get(channel, []) if not m.deleted and (m.thread_ts is None or m.thread_ts == m.ts)
        ]
        return sorted(found, key=lambda m: float(m.ts))


def default_workspace(bot_token: str, app_token: str, bot_scopes: set[str]) -> Workspace:
    """A small workspace: alice and bob, #general and #random (bot member), a private channel, DMs."""
    ws = Workspace()
    ws.users = {
        "U0ALICE": User("U0ALICE", "alice", ws.team_id, "Alice Example", is_admin=True, email="alice@example.test"),
        "U0BOB": User("U0BOB", "bob", ws.team_id, "Bob Example", email="bob@example.test"),
        ws.bot_user_id: User(ws.bot_user_id, "owui-bridge", ws.team_id, is_bot=True, bot_id=ws.bot_id),
        "U0OTHERBOT": User("U0OTHERBOT", "otherbot", ws.team_id, is_bot=True, bot_id="B0OTHERBOT"),
    }
    everyone = {"U0ALICE", "U0BOB", ws.bot_user_id}
    ws.channels = {
        "C0GENERAL": Channel("C0GENERAL", "general", "public", set(everyone)),
        "C0RANDOM": Channel("C0RANDOM", "random", "public", set(everyone)),
        "C0PRIVATE": Channel("C0PRIVATE", "secret-project", "private", set(everyone)),
        "D0ALICE": Channel("D0ALICE", "", "im", {"U0ALICE", ws.bot_user_id}, dm_user="U0ALICE"),
        "D0BOB": Channel("D0BOB", "", "im", {"U0BOB", ws.bot_user_id}, dm_user="U0BOB"),
    }
    ws.tokens = {
        bot_token: Token(bot_token, "bot", set(bot_scopes), user_id=ws.bot_user_id),
        app_token: Token(app_token, "app", {"connections:write"}),
    }
    return ws
