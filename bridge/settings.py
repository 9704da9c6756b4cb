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

    bot_token: SecretStr = SecretStr("")
    reply_mode: Literal["thread", "channel"] = "thread"
    allow_dms: bool = True
    allowed_guilds: IdList = []
    denied_guilds: IdList = []
    allowed_channels: IdList = []
    denied_channels: IdList = []
    allowed_roles: IdList = []
    denied_roles: IdList = []
    allowed_users: IdList = []
    denied_users: IdList = []
    admin_users: IdList = []
    admin_roles: IdList = []

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

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())


class SlackSettings(_Section):
    """The Slack app; it runs when `SLACK_BOT_TOKEN` is set (Socket Mode also needs `SLACK_APP_TOKEN`)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: SecretStr = SecretStr("")
    app_token: SecretStr = SecretStr("")
    signing_secret: SecretStr = SecretStr("")
    mode: Literal["socket", "http"] = "socket"
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, gt=0, le=65535)
    http_path: str = "/slack/events"
    command: str = "/owui"
    allow_dms: bool = True
    allowed_teams: IdList = []
    denied_teams: IdList = []
    allowed_channels: IdList = []
    denied_channels: IdList = []
    allowed_users: IdList = []
    denied_users: IdList = []
    admin_users: IdList = []

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
