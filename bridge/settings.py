"""Settings from the environment and `.env`, one section per concern, each with its variable prefix.

Every setting is documented in `.env.example` and README. A wrong or missing value stops start-up with
one line that names the variable (`ConfigError`), never a pydantic traceback; secrets are `SecretStr`,
so printing a settings object never shows them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bridge.identity.vault import valid_key
from bridge.store.backends import is_server_url, redact

S = TypeVar("S", bound="Section")

IdList = Annotated[list[str], NoDecode]
"""A comma-separated list of ids in the environment (`123,456`), a list in code."""


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and says what is wrong."""


def split_ids(value: Any) -> Any:
    """For `IdList` fields: `a, b` in the environment becomes `["a", "b"]`."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Section(BaseSettings):
    """Shared loading rules: environment first, then `.env`, unknown variables ignored."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class OpenWebUISettings(Section):
    """How to reach OpenWebUI (its base URL, not `/api`), and how long to wait for it."""

    model_config = SettingsConfigDict(env_prefix="OPENWEBUI_")

    url: str = "http://localhost:8080"
    api_key: SecretStr = SecretStr("")
    default_model: str = ""
    connect_timeout: float = Field(10.0, gt=0)
    idle_timeout: float = Field(120.0, gt=0, description="silence allowed between two stream chunks")
    request_timeout: float = Field(300.0, gt=0, description="whole non-streamed request")
    file_process_timeout: float = Field(300.0, gt=0)
    email: str = Field("", description="the service account's sign-in: turns run the web UI's way (bridge.turn_paths)")
    password: SecretStr = SecretStr("")

    @property
    def signs_in(self) -> bool:
        """Whether the service account signs in (both `OPENWEBUI_EMAIL` and `OPENWEBUI_PASSWORD` set)."""
        return bool(self.email and self.password.get_secret_value())

    def check_sign_in(self) -> None:
        """One of the two sign-in settings without the other is a mistake, not "off"."""
        if self.email and not self.password.get_secret_value():
            raise ConfigError("OPENWEBUI_PASSWORD: missing; it is needed with OPENWEBUI_EMAIL (the service account)")
        if self.password.get_secret_value() and not self.email:
            raise ConfigError("OPENWEBUI_EMAIL: missing; it is needed with OPENWEBUI_PASSWORD (the service account)")

    trusted_email_header: str = Field(
        "", description="OpenWebUI's WEBUI_AUTH_TRUSTED_EMAIL_HEADER, for BRIDGE_LINK_BY_EMAIL"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        for suffix in ("/api/v1", "/api"):
            if value.endswith(suffix):
                raise ValueError(f"give the server's base URL without {suffix} (e.g. http://localhost:8080)")
        return value


def _url_or_empty(value: SecretStr, accepted: Callable[[str], bool], shape: str) -> SecretStr:
    """A URL setting that holds a password: one `accepted` says the bridge can use, or empty. The message never
    repeats the value."""
    url = value.get_secret_value()
    if url and not accepted(url):
        raise ValueError(f"must be {shape}, or empty")
    return value


class BridgeSettings(Section):
    """The bridge's own behaviour: where it keeps its data, limits on files, logging."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_")

    data_dir: Path = Path("data")
    db_path: Path | None = None
    db_url: SecretStr = Field(
        SecretStr(""), description="postgresql://user:password@host/db: replicas share it; empty: the SQLite file"
    )
    system_prompt: str = ""
    max_file_bytes: int = Field(25 * 1024 * 1024, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    health_port: int = Field(0, ge=0, le=65535, description="0 disables the health/metrics endpoint")
    health_host: str = "0.0.0.0"
    shutdown_grace: float = Field(30.0, ge=0)
    max_answer_chars: int = Field(50_000, ge=1_000, description="longer answers are cut, with a note")
    max_turn_seconds: float = Field(900.0, gt=0, description="from a message; an answer streaming then is cut")
    budget_sync_interval: float = Field(
        0.5, gt=0, le=10, description="seconds between two exchanges of rate-budget demand with the other replicas"
    )
    budget_ttl: float = Field(2.0, gt=0, description="seconds after which a silent replica's share is taken back")
    budget_url: SecretStr = Field(
        SecretStr(""), description="redis://host:6379/0: replicas share rate budgets through Redis; empty: the store"
    )
    replica_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        min_length=1,
        max_length=200,
        description="this process among replicas sharing one database; unique among those running",
    )
    lease_seconds: float = Field(
        15.0, ge=1, description="a replica not heard from for this long is dead: its turns are closed, others go on"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def database(self) -> Path | str:
        """What `Store.open` takes: `BRIDGE_DB_URL` when set, else the SQLite file (`BRIDGE_DB_PATH`, or
        `bridge.db` in the data folder)."""
        return self.db_url.get_secret_value() or self.db_path or self.data_dir / "bridge.db"

    @property
    def database_label(self) -> str:
        """The database for messages and logs: the URL without its password."""
        return redact(str(self.database))

    @field_validator("budget_ttl")
    @classmethod
    def _ttl_outlasts_exchanges(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("budget_sync_interval")
        if interval is not None and value < 2 * interval:
            raise ValueError(
                "must be at least twice BRIDGE_BUDGET_SYNC_INTERVAL: a live replica one exchange late would lose "
                "its share"
            )
        return value

    @field_validator("budget_url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        shape = "a redis://[:password@]host:port/db URL (rediss:// with TLS)"
        return _url_or_empty(value, lambda url: url.startswith(("redis://", "rediss://")), shape)

    @field_validator("db_url")
    @classmethod
    def _server_url(cls, value: SecretStr) -> SecretStr:
        shape = "a postgresql://user:password@host:port/database URL (empty: SQLite)"
        return _url_or_empty(value, is_server_url, shape)


class IdentitySettings(Section):
    """Who OpenWebUI sees: the service key for everyone (default), or each linked person as themselves."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_")

    identity_policy: Literal["service", "mixed", "linked"] = "service"
    encryption_key: SecretStr = SecretStr("")
    encryption_old_keys: SecretStr = SecretStr("")
    link_by_email: bool = False

    @field_validator("encryption_key", "encryption_old_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        if not all(valid_key(key) for key in split_ids(value.get_secret_value())):
            raise ValueError("not an encryption key; make one with `bridge make-key` (32 url-safe base64 bytes)")
        return value

    @property
    def linking(self) -> bool:
        """People may link their own OpenWebUI keys (every policy but `service`)."""
        return self.identity_policy != "service"

    @property
    def old_keys(self) -> list[str]:
        return split_ids(self.encryption_old_keys.get_secret_value())

    def secrets(self) -> list[str]:
        return [k for k in (self.encryption_key.get_secret_value(), *self.old_keys) if k]


class PlatformSettings(Section):
    """The settings of one platform adapter, under its own prefix (`DISCORD_`, `SLACK_`, ...).

    Each adapter owns a subclass: its fields, their validation, when it is `enabled` (`bridge run` starts
    every enabled adapter) and `check` for rules across fields. Its `SecretStr` fields are masked in logs.
    """

    @property
    def enabled(self) -> bool:
        return False

    def check(self) -> None:
        """Raise `ConfigError` naming the variable when fields that are valid alone do not fit together."""

    def secrets(self) -> list[str]:
        """The values that must never appear in a log line (every `SecretStr` field that is set)."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of `field` (for messages that name it)."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


class Settings:
    """The core's sections and every known platform's, loaded together so that every error is reported
    the same way."""

    def __init__(
        self,
        openwebui: OpenWebUISettings,
        bridge: BridgeSettings,
        platforms: dict[str, PlatformSettings] | None = None,
        identity: IdentitySettings | None = None,
    ) -> None:
        self.openwebui = openwebui
        self.bridge = bridge
        self.platforms = platforms or {}
        self.identity = identity or IdentitySettings(_env_file=None)  # type: ignore[call-arg]

    def secrets(self) -> list[str]:
        """Every configured secret, for the log mask."""
        own = [
            self.openwebui.api_key.get_secret_value(),
            self.openwebui.password.get_secret_value(),
            *self.identity.secrets(),
        ]
        return [s for s in own if s] + [s for p in self.platforms.values() for s in p.secrets()]


def load_settings(
    env_file: str | Path | None = ".env",
    *,
    require_api_key: bool = True,
    platforms: Mapping[str, type[PlatformSettings]] | None = None,
) -> Settings:
    """Load the core's sections and each platform's, or raise `ConfigError` naming the first wrong variable."""
    core = {name: _load(cls, env_file) for name, cls in (("openwebui", OpenWebUISettings), ("bridge", BridgeSettings))}
    loaded = {name: _load(cls, env_file) for name, cls in (platforms or {}).items()}
    identity = _load(IdentitySettings, env_file)
    settings = Settings(core["openwebui"], core["bridge"], loaded, identity)  # type: ignore[arg-type]
    if require_api_key and not settings.openwebui.api_key.get_secret_value():
        raise ConfigError(
            "OPENWEBUI_API_KEY: missing; create a key in OpenWebUI (Settings > Account > API keys) and set it"
        )
    if identity.linking and not identity.encryption_key.get_secret_value():
        raise ConfigError(
            f"BRIDGE_ENCRYPTION_KEY: missing; BRIDGE_IDENTITY_POLICY={identity.identity_policy} lets people link "
            "their OpenWebUI keys, which are stored encrypted with it; make one with `bridge make-key`"
        )
    settings.openwebui.check_sign_in()
    if identity.link_by_email:
        _check_link_by_email(identity, settings.openwebui)
    for section in loaded.values():
        if section.enabled:
            section.check()
    return settings


def _check_link_by_email(identity: IdentitySettings, openwebui: OpenWebUISettings) -> None:
    if not identity.linking:
        raise ConfigError(
            "BRIDGE_LINK_BY_EMAIL: needs BRIDGE_IDENTITY_POLICY=mixed or linked (under service nobody acts as "
            "themselves)"
        )
    if not openwebui.trusted_email_header.strip():
        raise ConfigError(
            "OPENWEBUI_TRUSTED_EMAIL_HEADER: missing; BRIDGE_LINK_BY_EMAIL=true signs people in to OpenWebUI by "
            "their email through the header OpenWebUI's WEBUI_AUTH_TRUSTED_EMAIL_HEADER names (the same name here)"
        )


def _load(cls: type[S], env_file: str | Path | None) -> S:
    try:
        return cls(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(_describe(cls, exc)) from None


def _describe(cls: type[Section], exc: ValidationError) -> str:
    """One line: `VARIABLE: what is wrong`, without echoing the value (it may be a secret)."""
    error = exc.errors()[0]
    prefix = cls.model_config.get("env_prefix", "")
    field = str(error["loc"][0]) if error["loc"] else "?"
    message = error["msg"].removeprefix("Value error, ")
    return f"{prefix}{field}".upper() + f": {message}"
