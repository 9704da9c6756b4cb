"""Settings from the environment and `.env`, one section per concern, each with its variable prefix.

Every setting is documented in `.env.example` and README. A wrong or missing value stops start-up with
one line that names the variable (`ConfigError`), never a pydantic traceback; secrets are `SecretStr`,
so printing a settings object never shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IdList = Annotated[list[str], NoDecode]
"""A comma-separated list of ids in the environment (`123,456`), a list in code."""


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and says what is wrong."""


def _split_ids(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class _Section(BaseSettings):
    """Shared loading rules: environment first, then `.env`, unknown variables ignored."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class OpenWebUISettings(_Section):
    """How to reach OpenWebUI (its base URL, not `/api`), and how long to wait for it."""

    model_config = SettingsConfigDict(env_prefix="OPENWEBUI_")

    url: str = "http://localhost:8080"
    api_key: SecretStr = SecretStr("")
    default_model: str = ""
    connect_timeout: float = Field(10.0, gt=0)
    idle_timeout: float = Field(120.0, gt=0, description="silence allowed between two stream chunks")
    request_timeout: float = Field(300.0, gt=0, description="whole non-streamed request")
    file_process_timeout: float = Field(300.0, gt=0)

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


class BridgeSettings(_Section):
    """The bridge's own behaviour: where it keeps its data, limits on files, logging."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_")

    data_dir: Path = Path("data")
    db_path: Path | None = None
    system_prompt: str = ""
    max_file_bytes: int = Field(25 * 1024 * 1024, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    health_port: int = Field(0, ge=0, le=65535, description="0 disables the health/metrics endpoint")
    health_host: str = "0.0.0.0"
    shutdown_grace: float = Field(30.0, ge=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def database(self) -> Path:
        """The SQLite file: `BRIDGE_DB_PATH`, or `bridge.db` in the data folder."""
        return self.db_path or self.data_dir / "bridge.db"


class DiscordSettings(_Section):
    """The Discord bot; it runs when `DISCORD_BOT_TOKEN` is set."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_")

    bot_token: SecretStr = Field(SecretStr(""), description="the bot's token (Developer Portal > Bot); turns it on")
    reply_mode: Literal["thread", "channel"] = Field(
        "thread", description="thread: a mention opens a thread for the answer; channel: answers as a reply chain"
    )
    thread_archive_minutes: int = Field(
        1440, description="inactivity after which Discord hides a conversation thread: 60, 1440, 4320 or 10080"
    )
    edit_interval: float = Field(1.0, ge=0.2, le=10, description="seconds between two updates of a streaming reply")
    allow_dms: bool = Field(True, description="answer direct messages")
    allowed_guilds: IdList = Field([], description="servers allowed; empty: all")
    denied_guilds: IdList = Field([], description="servers refused, even when allowed")
    allowed_channels: IdList = Field([], description="channels or categories allowed; empty: all")
    denied_channels: IdList = Field(
        [], description="channels or categories refused, even when allowed (a thread follows its channel)"
    )
    allowed_roles: IdList = Field([], description="roles allowed (with allowed_users: either one); empty: all")
    denied_roles: IdList = Field([], description="roles refused, even when allowed")
    allowed_users: IdList = Field([], description="users allowed (with allowed_roles: either one); empty: all")
    denied_users: IdList = Field([], description="users refused, even when allowed")
    admin_users: IdList = Field([], description="users who may change settings; both admin lists empty: Manage Server")
    admin_roles: IdList = Field([], description="roles whose members may change settings")
    api_url: str = Field("https://discord.com/api/v10", description="Discord's REST API base (a proxy, or a test fake)")
    gateway_url: str = Field("wss://gateway.discord.gg/", description="Discord's gateway URL (a proxy, or a test fake)")

    _split = field_validator(
        "allowed_guilds",
        "denied_guilds",
        "allowed_channels",
        "denied_channels",
        "allowed_roles",
        "denied_roles",
        "allowed_users",
        "denied_users",
        "admin_users",
        "admin_roles",
        mode="before",
    )(_split_ids)

    @field_validator("thread_archive_minutes")
    @classmethod
    def _archive_minutes(cls, value: int) -> int:
        if value not in (60, 1440, 4320, 10080):
            raise ValueError("must be 60, 1440, 4320 or 10080 (minutes Discord offers)")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. https://discord.com/api/v10)")
        return value

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss:// (e.g. wss://gateway.discord.gg/)")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())


class SlackSettings(_Section):
    """The Slack app; it runs when `SLACK_BOT_TOKEN` is set (Socket Mode also needs `SLACK_APP_TOKEN`)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: SecretStr = Field(SecretStr(""), description="bot token (xoxb-...); setting it turns the adapter on")
    app_token: SecretStr = Field(SecretStr(""), description="app-level token (xapp-...) with connections:write")
    signing_secret: SecretStr = Field(SecretStr(""), description="the app's signing secret; HTTP mode checks it")
    mode: Literal["socket", "http"] = Field("socket", description="socket: Socket Mode; http: an events endpoint")
    http_host: str = Field("0.0.0.0", description="HTTP mode: address to listen on")
    http_port: int = Field(3000, ge=0, le=65535, description="HTTP mode: port to listen on (0: any free port)")
    http_path: str = Field("/slack/events", description="HTTP mode: path of the Request URL (events and commands)")
    api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a proxy, or a test fake)")
    command: str = Field("/owui", description="the slash command, as created in the app's settings")
    native_streaming: bool = Field(True, description="stream replies with chat.startStream when Slack allows it")
    max_message_chars: int = Field(
        12_000, ge=1_000, le=12_000, description="longest reply message; longer replies continue in a new one"
    )
    allow_dms: bool = Field(True, description="answer direct messages")
    allowed_teams: IdList = Field([], description="workspaces (T...) allowed; empty: all")
    denied_teams: IdList = Field([], description="workspaces refused, even when allowed")
    allowed_channels: IdList = Field([], description="channels (C.../G...) allowed; empty: all; DMs: allow_dms")
    denied_channels: IdList = Field([], description="channels refused, even when allowed")
    allowed_users: IdList = Field([], description="users (U...) allowed; empty: all")
    denied_users: IdList = Field([], description="users refused, even when allowed")
    admin_users: IdList = Field([], description="users who may change settings; empty: the workspace's admins")

    _split = field_validator(
        "allowed_teams",
        "denied_teams",
        "allowed_channels",
        "denied_channels",
        "allowed_users",
        "denied_users",
        "admin_users",
        mode="before",
    )(_split_ids)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("command", "http_path")
    @classmethod
    def _leading_slash(cls, value: str) -> str:
        value = value.strip()
        return value if value.startswith("/") else "/" + value

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())


_SECTIONS: dict[str, type[_Section]] = {
    "openwebui": OpenWebUISettings,
    "bridge": BridgeSettings,
    "discord": DiscordSettings,
    "slack": SlackSettings,
}


class Settings:
    """All sections, loaded together so that every error is reported the same way."""

    def __init__(
        self,
        openwebui: OpenWebUISettings,
        bridge: BridgeSettings,
        discord: DiscordSettings,
        slack: SlackSettings,
    ) -> None:
        self.openwebui = openwebui
        self.bridge = bridge
        self.discord = discord
        self.slack = slack

    def check_slack(self) -> None:
        """Slack needs the token of its transport: an app token for Socket Mode, a signing secret for HTTP."""
        if not self.slack.enabled:
            return
        if self.slack.mode == "socket" and not self.slack.app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN: Socket Mode needs an app-level token starting with xapp-")
        if self.slack.mode == "http" and not self.slack.signing_secret.get_secret_value():
            raise ConfigError("SLACK_SIGNING_SECRET: HTTP mode needs the app's signing secret")


def load_settings(env_file: str | Path | None = ".env", *, require_api_key: bool = True) -> Settings:
    """Load every section, or raise `ConfigError` naming the first wrong variable."""
    sections: dict[str, _Section] = {}
    for name, cls in _SECTIONS.items():
        try:
            sections[name] = cls(_env_file=env_file)  # type: ignore[call-arg]
        except ValidationError as exc:
            raise ConfigError(_describe(cls, exc)) from None
    settings = Settings(**sections)  # type: ignore[arg-type]
    if require_api_key and not settings.openwebui.api_key.get_secret_value():
        raise ConfigError(
            "OPENWEBUI_API_KEY: missing; create a key in OpenWebUI (Settings > Account > API keys) and set it"
        )
    settings.check_slack()
    return settings


def _describe(cls: type[_Section], exc: ValidationError) -> str:
    """One line: `VARIABLE: what is wrong`, without echoing the value (it may be a secret)."""
    error = exc.errors()[0]
    prefix = cls.model_config.get("env_prefix", "")
    field = str(error["loc"][0]) if error["loc"] else "?"
    message = error["msg"].removeprefix("Value error, ")
    return f"{prefix}{field}".upper() + f": {message}"
