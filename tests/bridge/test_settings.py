"""Settings: every variable documented, lists parsed, errors name the variable and never its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.adapter import platforms
from bridge.identity.vault import make_key
from bridge.settings import BridgeSettings, ConfigError, IdentitySettings, OpenWebUISettings, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = {name: platform.settings for name, platform in platforms().items()}


def load(env_file: Path | None = None) -> Settings:
    return load_settings(env_file, platforms=PLATFORMS)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set what they need; whatever the machine has set must not leak in."""
    for name in variables():
        monkeypatch.delenv(name, raising=False)


def variables() -> list[str]:
    return [
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in (OpenWebUISettings, BridgeSettings, IdentitySettings, *PLATFORMS.values())
        for name in cls.model_fields
    ]


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = [v for v in variables() if v not in text]
    assert not missing, f"{document} does not mention {missing}"


def test_lists_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-very-secret-key")
    monkeypatch.setenv("DISCORD_ALLOWED_GUILDS", " 1, 2,,3 ")
    settings = load()
    assert settings.platforms["discord"].allowed_guilds == ["1", "2", "3"]  # type: ignore[attr-defined]
    assert "sk-very-secret-key" not in repr(settings.openwebui) + str(settings.openwebui)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("OPENWEBUI_URL", "localhost:8080", "http://"),
        ("OPENWEBUI_URL", "http://host:8080/api", "without /api"),
        ("OPENWEBUI_IDLE_TIMEOUT", "0", "greater than 0"),
        ("BRIDGE_MAX_FILE_BYTES", "lots", "integer"),
        ("BRIDGE_LOG_LEVEL", "LOUD", "DEBUG"),
        ("BRIDGE_MAX_ANSWER_CHARS", "10", "greater than or equal to 1000"),
        ("BRIDGE_MAX_TURN_SECONDS", "0", "greater than 0"),
        ("DISCORD_REPLY_MODE", "forum", "thread"),
        ("SLACK_HTTP_MAX_CONNECTIONS", "0", "greater than or equal to 1"),
        ("SLACK_HTTP_IDLE_TIMEOUT", "0", "greater than 0"),
        ("BRIDGE_IDENTITY_POLICY", "everyone", "service"),
        ("BRIDGE_ENCRYPTION_KEY", "not-a-fernet-key", "bridge make-key"),
        ("BRIDGE_ENCRYPTION_OLD_KEYS", "also-not-one", "bridge make-key"),
        ("BRIDGE_BUDGET_URL", "memcached://user:pw-s3cret@cache:11211", "redis://"),
    ],
)
def test_a_wrong_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load()
    assert str(error.value).startswith(f"{variable}:") and says in str(error.value)
    assert value not in str(error.value).split(":", 1)[1] or value in says


def test_missing_key_and_slack_transport_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^OPENWEBUI_API_KEY"):
        load()
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError, match=r"^SLACK_APP_TOKEN"):
        load()
    monkeypatch.setenv("SLACK_MODE", "http")
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET"):
        load()


def test_linking_needs_an_encryption_key_and_never_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv("BRIDGE_IDENTITY_POLICY", "mixed")
    with pytest.raises(ConfigError, match=r"^BRIDGE_ENCRYPTION_KEY: missing; BRIDGE_IDENTITY_POLICY=mixed"):
        load()
    key, old = make_key(), make_key()
    monkeypatch.setenv("BRIDGE_ENCRYPTION_KEY", key)
    monkeypatch.setenv("BRIDGE_ENCRYPTION_OLD_KEYS", old)
    settings = load()
    assert settings.identity.linking and settings.identity.old_keys == [old]
    assert key in settings.secrets() and old in settings.secrets(), "both are masked in every log line"
    assert key not in repr(settings.identity) + str(settings.identity)


def test_link_by_email_needs_a_linking_policy_and_the_trusted_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv("BRIDGE_LINK_BY_EMAIL", "true")
    with pytest.raises(ConfigError, match=r"^BRIDGE_LINK_BY_EMAIL: needs BRIDGE_IDENTITY_POLICY=mixed or linked"):
        load()
    monkeypatch.setenv("BRIDGE_IDENTITY_POLICY", "linked")
    monkeypatch.setenv("BRIDGE_ENCRYPTION_KEY", make_key())
    with pytest.raises(ConfigError, match=r"^OPENWEBUI_TRUSTED_EMAIL_HEADER: missing"):
        load()
    monkeypatch.setenv("OPENWEBUI_TRUSTED_EMAIL_HEADER", "X-Forwarded-Email")
    settings = load()
    assert settings.identity.link_by_email and settings.openwebui.trusted_email_header == "X-Forwarded-Email"
