"""The service account's signed-in session against a real OpenWebUI 0.12.4: the sign-in, and a call whose
token OpenWebUI refuses (401), which signs in again once and goes through."""

from __future__ import annotations

import dataclasses

import pytest

from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui.signin import ServiceSession
from bridge.openwebui.webui_turn import signed_in_call
from simulators.openwebui_server import RealOpenWebUI

pytestmark = pytest.mark.contract


async def test_a_refused_token_signs_in_again_once_and_the_call_goes_through(real_owui: RealOpenWebUI) -> None:
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        session = ServiceSession(client, real_owui.admin_email, real_owui.admin_password)
        first = await session.token()
        assert await session.user_id() == real_owui.admin.id
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
        session = ServiceSession(client, real_owui.admin_email, "wrong-password")
        with pytest.raises(errors.SignInRefused) as refused:
            await session.token()
    assert "OPENWEBUI_PASSWORD" in refused.value.user_message and "wrong-password" not in str(refused.value)
