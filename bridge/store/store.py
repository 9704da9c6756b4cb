"""The conversation store: platform conversations ↔ OpenWebUI chats, on SQLite (WAL, the default) or
PostgreSQL (several replicas sharing one state), by `bridge.store.backends`.

All SQL runs on one dedicated thread, one statement group at a time, so the event loop never blocks on
the disk, the network or a lock held by another process, and the connection is never shared between threads.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from bridge.errors import StoreError
from bridge.messages import ConversationKey
from bridge.outcomes import TurnState
from bridge.store.backends import DATABASE_ERRORS, Backend, Cursor, open_backend
from bridge.store.migrate import migrate

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    key: ConversationKey
    chat_id: str


@dataclass(frozen=True, slots=True)
class Turn:
    id: int
    conversation: Conversation
    event_id: str
    user_message_id: str
    assistant_message_id: str
    parent_message_id: str | None
    model: str
    state: TurnState
    platform_message_ids: list[str]
    archived: bool = False  # its conversation was ended by `/new` (or a new chat replaced it)
    replica: str = ""  # the replica that runs (or ran) it: "" before replicas were recorded


Switches = dict[str, bool]
"""Tools or features an admin turned on (True) or off (False) for a scope, by id."""

SWITCH_COLUMNS = ("tools", "features")


@dataclass(frozen=True, slots=True)
class ScopeSettings:
    """The model and system prompt in force for a conversation, after inheritance (None: not set), and the
    tools and features switched there (each id from the nearest scope that names it)."""

    model: str | None = None
    system_prompt: str | None = None
    tools: Switches = field(default_factory=dict)
    features: Switches = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: str
    filename: str
    content_type: str
    size: int


class Store:
    """Async façade over the database; open with `await Store.open(target)`: a path or URL (`bridge.store.backends`)."""

    def __init__(self, backend: Backend, executor: ThreadPoolExecutor) -> None:
        self._sql = backend
        self._executor = executor
        self.label = backend.label
        self.dialect = backend.dialect

    @classmethod
    async def open(cls, target: Path | str, *, busy_timeout: float = 5.0) -> Store:
        """Connect (creating an SQLite file and its folder if needed) and apply migrations.

        `busy_timeout` is how long an SQLite statement waits for a lock held by another process before
        failing, and how long a PostgreSQL connection attempt may take.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()

        def connect() -> Backend:
            backend = open_backend(target, busy_timeout=busy_timeout)
            try:
                migrate(backend)
            except BaseException:
                backend.close()
                raise
            return backend

        try:
            backend = await loop.run_in_executor(executor, connect)
        except (*DATABASE_ERRORS, OSError) as exc:
            executor.shutdown(wait=False)
            raise StoreError(cannot_open(exc)) from exc
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(backend, executor)

    async def problem(self) -> str:
        """What makes the database unsafe or unreachable now ("" when all is well): a file deleted or
        replaced under the bridge, a server that stopped answering. Cheap enough to ask often."""
        try:
            return await self._run(self._sql.problem)
        except StoreError as exc:
            return str(exc)

    async def close(self) -> None:
        await self._run(self._sql.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except DATABASE_ERRORS as exc:
            raise StoreError(f"database error: {exc}") from exc

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> Cursor:
        with self._sql.transaction():
            return self._sql.execute(sql, params)

    # --- deduplication --------------------------------------------------------------------------

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen; False for a redelivery."""

        def write() -> bool:
            with self._sql.transaction():
                return self._claim(platform, event_id)

        return await self._run(write)

    def _claim(self, platform: str, event_id: str) -> bool:
        """`claim_event` inside a transaction of the store's thread (`bridge.store.replicas` queues a message
        in the same transaction)."""
        cursor = self._sql.execute(
            "INSERT INTO processed_events (platform, event_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (platform, event_id, time.time()),
        )
        return cursor.rowcount == 1

    async def forget_events(self, older_than: float) -> int:
        """Drop event ids older than `older_than` seconds; platforms stop retrying long before that."""
        cursor = await self._run(
            lambda: self._write("DELETE FROM processed_events WHERE seen_at < ?", (time.time() - older_than,))
        )
        return cursor.rowcount

    # --- conversations --------------------------------------------------------------------------

    async def conversation(self, key: ConversationKey, *, include_archived: bool = False) -> Conversation | None:
        """The active conversation at `key`; with `include_archived`, the newest one it ever had (so an
        adapter can tell a thread the bridge took part in, even after `/new`)."""
        active = "" if include_archived else "AND archived_at IS NULL "
        row = await self._run(
            lambda: self._sql.execute(
                "SELECT id, chat_id FROM conversations WHERE platform = ? AND workspace = ? AND channel = ? "
                f"AND thread = ? {active}ORDER BY id DESC LIMIT 1",
                _key(key),
            ).fetchone()
        )
        return Conversation(row[0], key, row[1]) if row else None

    async def start_conversation(self, key: ConversationKey, chat_id: str) -> Conversation:
        """Map `key` to `chat_id`, archiving the chat it had (the old chat stays in OpenWebUI)."""

        def write() -> int:
            now = time.time()
            with self._sql.transaction():
                self._sql.execute(
                    "UPDATE conversations SET archived_at = ? WHERE platform = ? AND workspace = ? "
                    "AND channel = ? AND thread = ? AND archived_at IS NULL",
                    (now, *_key(key)),
                )
                cursor = self._sql.execute(
                    "INSERT INTO conversations (platform, workspace, channel, thread, chat_id, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (*_key(key), chat_id, now, now),
                )
                return int(cursor.fetchone()[0])

        return Conversation(await self._run(write), key, chat_id)

    async def archive_conversation(self, key: ConversationKey) -> bool:
        """`/new`: the next message in `key` starts a fresh chat. False when there was none."""
        cursor = await self._run(
            lambda: self._write(
                "UPDATE conversations SET archived_at = ? WHERE platform = ? AND workspace = ? AND channel = ? "
                "AND thread = ? AND archived_at IS NULL",
                (time.time(), *_key(key)),
            )
        )
        return cursor.rowcount > 0

    # --- turns ----------------------------------------------------------------------------------

    async def begin_turn(
        self,
        conversation: Conversation,
        event_id: str,
        user_message_id: str,
        assistant_message_id: str,
        parent_message_id: str | None,
        model: str,
        replica: str = "",
    ) -> int:
        """A turn in progress (state streaming) run by `replica` (`bridge.conversation_order`)."""

        def write() -> int:
            now = time.time()
            with self._sql.transaction():
                cursor = self._sql.execute(
                    "INSERT INTO turns (conversation_id, event_id, user_message_id, assistant_message_id, "
                    "parent_message_id, model, state, started_at, replica) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING id",
                    (
                        conversation.id,
                        event_id,
                        user_message_id,
                        assistant_message_id,
                        parent_message_id,
                        model,
                        TurnState.STREAMING,
                        now,
                        replica,
                    ),
                )
                turn_id = int(cursor.fetchone()[0])
                self._sql.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation.id))
            return turn_id

        return await self._run(write)

    async def set_turn_messages(self, turn_id: int, platform_message_ids: list[str]) -> None:
        """Remember which platform messages show this turn, so a restart can mark them interrupted."""
        await self._run(
            lambda: self._write(
                "UPDATE turns SET platform_message_ids = ? WHERE id = ?",
                (json.dumps(platform_message_ids), turn_id),
            )
        )

    async def finish_turn(self, turn_id: int, state: TurnState, error: str | None = None) -> None:
        await self._run(
            lambda: self._write(
                "UPDATE turns SET state = ?, error = ?, finished_at = ? WHERE id = ?",
                (state, error, time.time(), turn_id),
            )
        )

    async def open_turns(self, platform: str | None = None, key: ConversationKey | None = None) -> list[Turn]:
        """Turns still marked streaming (on `platform`, at `key`): after a crash, the ones to close."""
        # The state is written into the SQL (not a parameter) so that SQLite uses the partial index `turns_open`.
        where = f"t.state = '{TurnState.STREAMING}'"
        params: tuple[Any, ...] = ()
        if platform:
            where += " AND c.platform = ?"
            params = (platform,)
        if key is not None:
            where += " AND c.platform = ? AND c.workspace = ? AND c.channel = ? AND c.thread = ?"
            params += _key(key)
        return await self._turns(where + " ORDER BY t.id", params)

    async def turn(self, platform: str, turn_id: int) -> Turn | None:
        """Turn `turn_id` of `platform` (a button on an answer names its turn), or None."""
        found = await self._turns("t.id = ? AND c.platform = ?", (turn_id, platform))
        return found[0] if found else None

    async def latest_turn(self, conversation: Conversation) -> Turn | None:
        """The newest turn of `conversation`: the one an edited question must be to be re-run."""
        found = await self._turns("c.id = ? ORDER BY t.id DESC LIMIT 1", (conversation.id,))
        return found[0] if found else None

    async def turn_of_question(self, platform: str, question: str) -> Turn | None:
        """The newest turn answering the platform message `question`: its own turn (event id `question`)
        or a later variant of it (regenerated, edited: event ids `question#...`)."""
        prefix = question + "#"
        found = await self._turns(
            "c.platform = ? AND (t.event_id = ? OR substr(t.event_id, 1, length(?)) = ?) ORDER BY t.id DESC LIMIT 1",
            (platform, question, prefix, prefix),
        )
        return found[0] if found else None

    async def _turns(self, where: str, params: tuple[Any, ...]) -> list[Turn]:
        """Turns with their conversation, selected by `where` (SQL after WHERE, on `t` turns and `c`
        conversations, ordering included)."""
        sql = (
            "SELECT t.id, t.event_id, t.user_message_id, t.assistant_message_id, t.parent_message_id, t.model, "
            "t.state, t.platform_message_ids, c.id, c.platform, c.workspace, c.channel, c.thread, c.chat_id, "
            "c.archived_at, t.replica FROM turns t JOIN conversations c ON c.id = t.conversation_id WHERE "
        )
        rows = await self._run(lambda: self._sql.execute(sql + where, params).fetchall())
        return [
            Turn(
                row[0],
                _conversation(row[8:14]),
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                TurnState(row[6]),
                json.loads(row[7]),
                archived=row[14] is not None,
                replica=row[15],
            )
            for row in rows
        ]

    # --- feedback -------------------------------------------------------------------------------

    async def feedback_id(self, platform: str, assistant_message_id: str, user_id: str) -> str | None:
        """The OpenWebUI feedback `user_id` gave that answer, if any: a second click updates it."""
        row = await self._run(
            lambda: self._sql.execute(
                "SELECT feedback_id FROM feedback WHERE platform = ? AND assistant_message_id = ? AND user_id = ?",
                (platform, assistant_message_id, user_id),
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def set_feedback(
        self, platform: str, assistant_message_id: str, user_id: str, feedback_id: str, rating: int
    ) -> None:
        await self._run(
            lambda: self._write(
                "INSERT INTO feedback (platform, assistant_message_id, user_id, feedback_id, rating, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, assistant_message_id, user_id) DO UPDATE SET "
                "feedback_id = excluded.feedback_id, rating = excluded.rating, updated_at = excluded.updated_at",
                (platform, assistant_message_id, user_id, feedback_id, rating, time.time()),
            )
        )

    # --- settings per scope ---------------------------------------------------------------------

    async def scope_settings(self, key: ConversationKey) -> ScopeSettings:
        """The thread's own settings, else its channel's, else the workspace's."""
        scopes = [
            _key(key),
            (key.platform, key.workspace, key.channel, ""),
            (key.platform, key.workspace, "", ""),
        ]

        def read() -> ScopeSettings:
            model = prompt = None
            tools: Switches = {}
            features: Switches = {}
            for scope in scopes:
                row = self._sql.execute(
                    "SELECT model, system_prompt, tools, features FROM scope_settings WHERE platform = ? "
                    "AND workspace = ? AND channel = ? AND thread = ?",
                    scope,
                ).fetchone()
                if row:
                    model = model if model is not None else row[0]
                    prompt = prompt if prompt is not None else row[1]
                    tools = {**_switches(row[2]), **tools}  # the nearer scope, read first, wins
                    features = {**_switches(row[3]), **features}
            return ScopeSettings(model, prompt, tools, features)

        return await self._run(read)

    async def set_scope_settings(
        self, scope: ConversationKey, *, model: str | None = None, system_prompt: str | None = None
    ) -> None:
        """Set what is given for `scope` (a key whose thread, or channel and thread, may be empty).

        An empty string clears that setting, so the scope inherits again.
        """

        def write() -> None:
            with self._sql.transaction():
                self._sql.execute(
                    "INSERT INTO scope_settings (platform, workspace, channel, thread, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*_key(scope), time.time()),
                )
                for column, value in (("model", model), ("system_prompt", system_prompt)):
                    if value is not None:
                        self._sql.execute(
                            f"UPDATE scope_settings SET {column} = ?, updated_at = ? WHERE platform = ? "
                            "AND workspace = ? AND channel = ? AND thread = ?",
                            (value or None, time.time(), *_key(scope)),
                        )

        await self._run(write)

    async def switch(self, scope: ConversationKey, column: str, name: str, on: bool | None) -> Switches:
        """Turn tool or feature `name` on or off for `scope` itself (`column`: "tools" or "features"); None
        forgets the scope's choice, so it inherits again. Returns the scope's own switches after the change."""
        if column not in SWITCH_COLUMNS:
            raise ValueError(f"not a switch column: {column}")

        def write() -> Switches:
            with self._sql.transaction():
                self._sql.execute(
                    "INSERT INTO scope_settings (platform, workspace, channel, thread, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*_key(scope), time.time()),
                )
                row = self._sql.execute(
                    f"SELECT {column} FROM scope_settings WHERE platform = ? AND workspace = ? AND channel = ? "
                    "AND thread = ?",
                    _key(scope),
                ).fetchone()
                switches = _switches(row[0])
                if on is None:
                    switches.pop(name, None)
                else:
                    switches[name] = on
                self._sql.execute(
                    f"UPDATE scope_settings SET {column} = ?, updated_at = ? WHERE platform = ? AND workspace = ? "
                    "AND channel = ? AND thread = ?",
                    (json.dumps(switches) if switches else None, time.time(), *_key(scope)),
                )
                return switches

        return await self._run(write)

    # --- files ----------------------------------------------------------------------------------

    async def add_file(self, conversation: Conversation, file: StoredFile) -> None:
        await self._run(
            lambda: self._write(
                "INSERT INTO files (conversation_id, file_id, filename, content_type, size, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation.id, file.file_id, file.filename, file.content_type, file.size, time.time()),
            )
        )

    async def files(self, conversation: Conversation) -> list[StoredFile]:
        rows = await self._run(
            lambda: self._sql.execute(
                "SELECT file_id, filename, content_type, size FROM files WHERE conversation_id = ? ORDER BY id",
                (conversation.id,),
            ).fetchall()
        )
        return [StoredFile(*row) for row in rows]


def cannot_open(exc: Exception) -> str:
    """Why the database could not be opened, and what the operator can do about it: the CLI prints this
    after the database's path or URL, as the one line a failed start shows."""
    if isinstance(exc, psycopg.Error):
        return f"the PostgreSQL server refused or failed ({str(exc).strip().splitlines()[0]}); check BRIDGE_DB_URL"
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return f"another process holds it locked ({exc}); stop the other bridge that uses this file"
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return (
            f"it is not a SQLite database or it is damaged ({exc}); restore it from a backup, or move it aside "
            "to start with an empty one (conversations then start new chats)"
        )
    reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.filename else str(exc)
    return (
        f"cannot open it ({reason}); check that BRIDGE_DB_PATH names a file, not a folder, and the permissions: "
        "the bridge's user must be able to create and write the file and its folder"
    )


def _switches(stored: str | None) -> Switches:
    """A stored switches column; what is not a JSON object of booleans counts as no choice."""
    try:
        value = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, bool)} if isinstance(value, dict) else {}


def _key(key: ConversationKey) -> tuple[str, str, str, str]:
    return (key.platform, key.workspace, key.channel, key.thread)


def _conversation(row: Any) -> Conversation:
    return Conversation(row[0], ConversationKey(row[1], row[2], row[3], row[4]), row[5])
