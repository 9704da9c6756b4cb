"""The allow/deny rules on their own, for the combinations the end-to-end tests do not walk through."""

from __future__ import annotations

from typing import Any

from adapters.discord.access import Access, Asker
from adapters.discord.settings import DiscordSettings

GUILD, CATEGORY, CHANNEL, THREAD = 10, 20, 30, 40
ALICE, BOB = 1, 2
STAFF, BANNED = 100, 200


def _access(**settings: Any) -> Access:
    return Access(DiscordSettings(_env_file=None, **settings))


def _in_thread(user: int = ALICE, roles: frozenset[int] = frozenset(), manages: bool = False) -> Asker:
    return Asker(user, roles, GUILD, frozenset({THREAD, CHANNEL, CATEGORY}), manages)


def _in_dm(user: int = ALICE) -> Asker:
    return Asker(user, frozenset(), None, frozenset({99}))


def test_guild_lists() -> None:
    assert _access(allowed_guilds="11").refusal(_in_thread()) is not None
    assert _access(allowed_guilds=f"{GUILD}").refusal(_in_thread()) is None
    assert _access(allowed_guilds=f"{GUILD}", denied_guilds=f"{GUILD}").refusal(_in_thread()) is not None
    assert _access(denied_guilds=f"{GUILD}").refusal(_in_dm()) is None, "server lists do not concern DMs"


def test_a_thread_follows_its_channel_and_category() -> None:
    assert _access(allowed_channels=f"{CATEGORY}").refusal(_in_thread()) is None
    assert _access(allowed_channels="31").refusal(_in_thread()) is not None
    assert _access(denied_channels=f"{CHANNEL}").refusal(_in_thread()) is not None


def test_users_and_roles_allow_together_and_deny_alone() -> None:
    access = _access(allowed_users=f"{BOB}", allowed_roles=f"{STAFF}", denied_roles=f"{BANNED}")
    assert access.refusal(_in_thread(BOB)) is None
    assert access.refusal(_in_thread(ALICE, frozenset({STAFF}))) is None
    assert access.refusal(_in_thread(ALICE)) is not None
    assert access.refusal(_in_thread(BOB, frozenset({BANNED}))) is not None
    assert access.refusal(_in_dm(ALICE)) is not None, "a role list cannot be checked in a DM"
    assert access.refusal(_in_dm(BOB)) is None


def test_admins() -> None:
    default = _access()
    assert default.is_admin(_in_thread(manages=True)) and not default.is_admin(_in_thread())
    assert default.may_configure(_in_dm()) and not default.is_admin(_in_dm()), "a DM's owner configures only it"
    listed = _access(admin_roles=f"{STAFF}")
    assert listed.is_admin(_in_thread(roles=frozenset({STAFF})))
    assert not listed.is_admin(_in_thread(manages=True)), "with admin lists, managing the server is not enough"
