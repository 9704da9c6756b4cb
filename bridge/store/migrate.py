"""Schema migrations: `migrations/<dialect>/NNNN_name.sql`, applied in order, recorded in `schema_version`.

Each migration exists once per dialect (`sqlite`, `postgresql`) with the same number and name; the two
differ in column types only, so a store behaves the same on either. Each file runs in one transaction with
its version row, so a crash mid-migration leaves the database at the previous version. Replicas starting
together take turns (`Backend.migration_lock`). A database newer than the code is refused: running old
code on it could lose data.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.store.backends import Backend, Dialect

_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")


class SchemaError(Exception):
    """The database cannot be used by this version of the bridge; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations_dir(dialect: Dialect = "sqlite") -> Path:
    """The SQL files of `dialect`: packaged inside `bridge` in a wheel, at the repository root in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    root = packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "migrations"
    return root / dialect


def load_migrations(folder: Path | None = None, dialect: Dialect = "sqlite") -> list[Migration]:
    folder = folder or migrations_dir(dialect)
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise SchemaError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations in {folder} must be numbered 0001, 0002, … without gaps: {versions}")
    return found


def current_version(db: Backend) -> int:
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: Backend, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is missing; return the migrations applied now."""
    migrations = migrations if migrations is not None else load_migrations(dialect=db.dialect)
    with db.migration_lock():
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        have = current_version(db)
        newest = migrations[-1].version if migrations else 0
        if have > newest:
            raise SchemaError(
                f"the database is at schema version {have}, newer than this bridge knows ({newest}); "
                "run the newer bridge version, or point BRIDGE_DB_URL (or BRIDGE_DB_PATH) at another database"
            )
        applied = []
        for migration in migrations:
            if migration.version <= have:
                continue
            record = (
                "INSERT INTO schema_version (version, name, applied_at) "
                f"VALUES ({migration.version}, '{migration.name}', {time.time()});"
            )
            db.run_script(f"{migration.sql}\n{record}")
            applied.append(migration)
        return applied
