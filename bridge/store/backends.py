"""Where the store's SQL runs: an SQLite file (the default) or a PostgreSQL server, chosen by one URL.

The store writes its SQL once, in the part both databases speak: `?` placeholders, `ON CONFLICT … DO
NOTHING / DO UPDATE` instead of `INSERT OR IGNORE / REPLACE`, `RETURNING id` instead of the last row id,
no SQLite-only functions. The PostgreSQL backend turns the placeholders into psycopg's `%s`. Schemas differ
in types only (`migrations/sqlite/`, `migrations/postgresql/`, the same files in each dialect).

Both backends are synchronous and used from the store's one thread: the event loop never waits on the disk
or the network, and a connection is never shared between threads.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from sqlite_utils import Database

from bridge.errors import StoreError

Dialect = Literal["sqlite", "postgresql"]
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
_MIGRATION_LOCK = 0x0B81D6E  # the advisory lock replicas take while one of them migrates


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Backend(Protocol):
    dialect: Dialect
    label: str
    """Where the data is, for messages: a file's path, or a server's URL without its password."""

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Cursor: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Statements in the block commit together, or not at all."""
        ...

    def run_script(self, sql: str) -> None:
        """Several statements (a migration) in one transaction."""
        ...

    def migration_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while migrating, so two replicas starting at once do not both apply a migration."""
        ...

    def problem(self) -> str:
        """What makes the data unreachable or unsafe now; "" when all is well. Cheap; not on the loop."""
        ...

    def close(self) -> None: ...


def is_server_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0] in ("postgresql", "postgres")


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class SQLiteBackend:
    """One SQLite file in WAL mode (or `:memory:`), through sqlite-utils."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.path = None if str(path) == ":memory:" else path
        self.label = str(path)
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=busy_timeout)
        try:
            self.db = Database(conn)
            if self.path:
                self.db.enable_wal()
                self._identity = _identity(self.path)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Cursor:
        return self.db.execute(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.conn:
            yield

    def run_script(self, sql: str) -> None:
        try:
            self.db.conn.executescript(f"BEGIN;\n{sql}\nCOMMIT;")
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        yield  # each migration is one write transaction: SQLite lets one writer in at a time

    def problem(self) -> str:
        """SQLite does not notice its file deleted or replaced while it is open: writes go on into the old
        file and are lost at the next start. Only comparing the path's device and inode with those of the
        file opened shows it."""
        if self.path is None:
            return ""
        try:
            now = _identity(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was deleted while the bridge runs"
        except OSError as exc:
            return f"the database file {self.path} cannot be checked ({exc.strerror})"
        if now != self._identity:
            return f"the database file {self.path} was replaced by another file while the bridge runs"
        return ""

    def close(self) -> None:
        self.db.conn.close()


class PostgresBackend:
    """One connection to a PostgreSQL server (psycopg 3, autocommit but inside `transaction`).

    A connection lost between statements (the server restarted, a failover) is opened again at the next
    statement, so the bridge recovers by itself once the server is back; a statement that fails meanwhile
    raises, and its turn tells the person.
    """

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout: float) -> None:
        self.url = url
        self.label = redact(url)
        self._timeout = max(1, round(connect_timeout))
        self._depth = 0
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout, application_name=_app_name())

    def _live(self) -> psycopg.Connection[Any]:
        if self.conn.closed and self._depth == 0:
            self.conn = self._connect()
        return self.conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Cursor:
        return self._live().execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._live().transaction():
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1

    def run_script(self, sql: str) -> None:
        with self.transaction():
            self.conn.execute(sql)  # type: ignore[call-overload]  # no parameters: several statements are allowed

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        self._live().execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    def problem(self) -> str:
        try:
            self.execute("SELECT 1").fetchone()
        except psycopg.Error as exc:
            return f"the database at {self.label} does not answer ({_first_line(exc)})"
        return ""

    def close(self) -> None:
        self.conn.close()


def open_backend(target: str | Path, *, busy_timeout: float = 5.0) -> Backend:
    """A PostgreSQL URL (`postgresql://…`) or an SQLite path (or `sqlite:///path`)."""
    if is_server_url(target):
        try:
            return PostgresBackend(str(target), connect_timeout=busy_timeout)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the PostgreSQL server ({_first_line(exc)}); check BRIDGE_DB_URL and that the "
                "server runs and accepts this user"
            ) from exc
    text = str(target)
    path = Path(text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text)
    return SQLiteBackend(path, busy_timeout=busy_timeout)


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _app_name() -> str:
    return f"openwebui-bridge-{os.getpid()}"
