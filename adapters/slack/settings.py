"""The Slack adapter's settings: every `SLACK_*` variable, its default and its validation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from bridge.settings import ConfigError, IdList, PlatformSettings, split_ids

PLATFORM = "slack"
"""The platform's name: its entry point, its conversation keys and its log lines."""


class SlackSettings(PlatformSettings):
    """The Slack app; it runs when `SLACK_BOT_TOKEN` is set (Socket Mode also needs `SLACK_APP_TOKEN`)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: SecretStr = Field(SecretStr(""), description="bot token (xoxb-...); setting it turns the adapter on")
    app_token: SecretStr = Field(SecretStr(""), description="app-level token (xapp-...) with connections:write")
    signing_secret: SecretStr = Field(SecretStr(""), description="the app's signing secret; HTTP mode checks it")
    mode: Literal["socket", "http"] = Field("socket", description="socket: Socket Mode; http: an events endpoint")
    http_host: str = Field("0.0.0.0", description="HTTP mode: address to listen on")
    http_port: int = Field(3000, ge=0, le=65535, description="HTTP mode: port to listen on (0: any free port)")
    http_path: str = Field("/slack/events", description="HTTP mode: path of the Request URL (events and commands)")
    http_max_connections: int = Field(
        256, ge=1, description="HTTP mode: most connections open at once; over it the oldest idle one is closed"
    )
    http_idle_timeout: float = Field(
        15.0, gt=0, le=3600, description="HTTP mode: seconds a connection may wait without a whole request"
    )
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
    suggested_prompts: list[str] = Field(
        [], description="assistant view: prompts suggested when the model has none in OpenWebUI (a JSON list)"
    )

    _split = field_validator(
        "allowed_teams",
        "denied_teams",
        "allowed_channels",
        "denied_channels",
        "allowed_users",
        "denied_users",
        "admin_users",
        mode="before",
    )(split_ids)

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

    def check(self) -> None:
        """Slack needs the token of its transport: an app token for Socket Mode, a signing secret for HTTP."""
        if self.mode == "socket" and not self.app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN: Socket Mode needs an app-level token starting with xapp-")
        if self.mode == "http" and not self.signing_secret.get_secret_value():
            raise ConfigError("SLACK_SIGNING_SECRET: HTTP mode needs the app's signing secret")
