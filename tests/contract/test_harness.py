"""The harness itself: a real OpenWebUI serves the upstream's models and relays its replies."""

from __future__ import annotations

import json

import httpx
import pytest

from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import RealOpenWebUI

pytestmark = pytest.mark.contract


def _client(owui: RealOpenWebUI, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=owui.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_models_come_from_the_upstream(real_owui: RealOpenWebUI) -> None:
    async with _client(real_owui, real_owui.api_key) as client:
        response = await client.get("/api/models")
    assert response.status_code == 200
    ids = {m["id"] for m in response.json()["data"]}
    assert {"echo-1", "vision-1"} <= ids


async def test_completion_is_relayed_from_the_upstream(
    real_owui: RealOpenWebUI, contract_upstream: ModelUpstream
) -> None:
    body = {"model": "echo-1", "stream": False, "messages": [{"role": "user", "content": "harness check"}]}
    async with _client(real_owui, real_owui.api_key) as client:
        response = await client.post("/api/chat/completions", json=body)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "echo: harness check"
    assert contract_upstream.requests_containing("harness check")[-1].reply == "echo: harness check"


async def test_streamed_completion_ends_with_done(real_owui: RealOpenWebUI) -> None:
    """A second async test on its own event loop still reaches the session's servers.

    ``stream`` must be sent: without it OpenWebUI forwards the body as is and the answer is plain JSON.
    """
    body = {"model": "echo-1", "stream": True, "messages": [{"role": "user", "content": "stream check"}]}
    text, last = "", ""
    async with (
        _client(real_owui, real_owui.api_key) as client,
        client.stream("POST", "/api/chat/completions", json=body) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            last = line.removeprefix("data: ")
            if last != "[DONE]":
                for choice in json.loads(last).get("choices", []):
                    text += choice.get("delta", {}).get("content") or ""
    assert last == "[DONE]"
    assert text == "echo: stream check"


def test_second_user_has_own_credentials(real_owui: RealOpenWebUI) -> None:
    user = real_owui.create_user()
    assert user.role == "user" and user.id != real_owui.admin.id
    assert user.api_key is not None and user.api_key.startswith("sk-")
    # /api/v1/auths/ wants a human session: a JWT works there, an API key gets 403.
    me = httpx.get(f"{real_owui.base_url}/api/v1/auths/", headers={"Authorization": f"Bearer {user.jwt}"})
    assert me.status_code == 200 and me.json()["email"] == user.email
    chats = httpx.get(f"{real_owui.base_url}/api/v1/chats/list", headers={"Authorization": f"Bearer {user.api_key}"})
    assert chats.status_code == 200 and chats.json() == []


async def test_uploaded_file_reaches_the_model(real_owui: RealOpenWebUI, contract_upstream: ModelUpstream) -> None:
    """RAG works offline: the upstream embeds the file and sees its marker in the context."""
    async with _client(real_owui, real_owui.api_key) as client:
        upload = await client.post(
            "/api/v1/files/",
            params={"process_in_background": "false"},
            files={"file": ("harness.txt", b"The harness code word is MARKER-harness1.", "text/plain")},
        )
        assert upload.status_code == 200
        file_id = upload.json()["id"]
        status = await client.get(f"/api/v1/files/{file_id}/process/status")
        assert status.json() == {"status": "completed"}
        body = {
            "model": "echo-1",
            "stream": False,
            "messages": [{"role": "user", "content": "What is the harness code word?"}],
            "files": [{"type": "file", "id": file_id}],
        }
        response = await client.post("/api/chat/completions", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["choices"][0]["message"]["content"] == (
        "echo: What is the harness code word? [markers: MARKER-harness1]"
    )
    assert answer["sources"][0]["source"] == {"type": "file", "id": file_id}
    assert contract_upstream.last_request.markers == ["MARKER-harness1"]
