"""The service account's signed-in session against a real OpenWebUI 0.12.4: the sign-in, and a call whose
token OpenWebUI refuses (401), which signs in again once and goes through."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from pydantic import SecretStr

from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui import chat as chats
from bridge.openwebui.signin import ServiceSession
from bridge.openwebui.webui_turn import signed_in_call
from bridge.settings import OpenWebUISettings
from bridge.turn_paths import TurnRequest, completion_path
from simulators.openwebui_server import RealOpenWebUI

pytestmark = pytest.mark.contract


async def test_a_refused_token_signs_in_again_once_and_the_call_goes_through(real_owui: RealOpenWebUI) -> None:
    account = real_owui.create_user(role="admin")  # its own sign-in budget (15 in 3 minutes per email)
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        session = ServiceSession(client, account.email, account.password)
        first = await session.token()
        assert await session.user_id() == account.id
        signed = session.current
        assert signed is not None and signed.expires_at is not None and signed.expires_at > signed.issued_at
        # forced expiry: the token OpenWebUI holds is refused (its signature broken), though not yet due
        broken = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
        session._current = dataclasses.replace(signed, token=broken)
        chats = await signed_in_call(client, session, "GET", "/api/v1/chats/list")
        assert isinstance(chats, list)
        renewed = session.current
        assert renewed is not None and renewed.token not in (broken, "")


async def test_a_wrong_password_is_refused_with_the_variables_named(real_owui: RealOpenWebUI) -> None:
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        account = real_owui.create_user(role="user", api_key=False)
        session = ServiceSession(client, account.email, "wrong-password")
        with pytest.raises(errors.SignInRefused) as refused:
            await session.token()
        attempts = len(_sign_ins(real_owui))
        assert attempts >= 1, "OpenWebUI's access log shows sign-ins"
        with pytest.raises(errors.SignInRefused):  # within the pause: refused again without asking OpenWebUI
            await session.token()
        assert len(_sign_ins(real_owui)) == attempts
    assert "OPENWEBUI_PASSWORD" in refused.value.user_message and "wrong-password" not in str(refused.value)


async def test_signing_in_as_another_user_than_the_keys_is_named(real_owui: RealOpenWebUI) -> None:
    """The chat is the API key's (the admin's); the signed-in account is another user, who may not answer in
    it: OpenWebUI answers 404, which the bridge explains as the two settings naming different accounts."""
    other = real_owui.create_user(api_key=False)
    settings = OpenWebUISettings(
        _env_file=None,  # type: ignore[call-arg]
        url=real_owui.base_url,
        api_key=SecretStr(real_owui.api_key),
        email=other.email,
        password=SecretStr(other.password),
    )
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        path = completion_path(settings, client)
        try:
            created = await client.new_chat(chats.new_chat("mismatch", "echo-1"))
            user = chats.user_message(str(uuid.uuid4()), None, "hello", "echo-1")
            await client.update_chat(created["id"], chats.attach(chats.new_chat("mismatch", "echo-1"), user))
            body = {"model": "echo-1", "messages": [{"role": "user", "content": "hello"}]}
            request = TurnRequest(body, created["id"], user, str(uuid.uuid4()))
            with pytest.raises(errors.AccountMismatch) as refused:
                async for _ in path.events(request):
                    pass
        finally:
            await path.aclose()
    assert "OPENWEBUI_EMAIL" in refused.value.user_message


def _sign_ins(server: RealOpenWebUI) -> list[str]:
    """The sign-in requests in the server's access log."""
    assert server.log_path is not None
    return [line for line in server.log_path.read_text(errors="replace").splitlines() if "/api/v1/auths/signin" in line]
