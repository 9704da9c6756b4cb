"""OpenWebUI calls only tests make (set-up, clean-up, checks), through the client's one `call` method, so the
product client keeps only what the bridge uses."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bridge.openwebui import KnowledgeBase, OpenWebUIClient, UploadedFile, errors
from bridge.openwebui.client import _file, _knowledge


async def complete(client: OpenWebUIClient, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/chat/completions` with `stream: false`: the whole answer as one JSON object."""
    return await client.call(
        "POST", "/api/chat/completions", json={**body, "stream": False}, not_found=errors.ModelNotFound
    )


async def list_chats(client: OpenWebUIClient, page: int = 1) -> list[dict[str, Any]]:
    """`GET /api/v1/chats/list?page=N` (60 a page)."""
    return await client.call("GET", "/api/v1/chats/list", params={"page": page})


async def delete_chat(client: OpenWebUIClient, chat_id: str) -> bool:
    return bool(await client.call("DELETE", f"/api/v1/chats/{chat_id}"))


async def knowledge_create(client: OpenWebUIClient, name: str, description: str = "") -> KnowledgeBase:
    body = {"name": name, "description": description}
    return _knowledge(await client.call("POST", "/api/v1/knowledge/create", json=body))


async def knowledge_files(client: OpenWebUIClient, knowledge_id: str) -> list[UploadedFile]:
    """`GET /api/v1/knowledge/{id}/files`, every page (0.12 no longer lists files in the knowledge base)."""
    found: list[UploadedFile] = []
    page = 1
    while True:
        data = await client.call("GET", f"/api/v1/knowledge/{knowledge_id}/files", params={"page": page})
        items = data.get("items", [])
        found.extend(_file(item) for item in items)
        if not items or len(found) >= data.get("total", 0):
            return found
        page += 1


async def knowledge_delete(client: OpenWebUIClient, knowledge_id: str) -> bool:
    return bool(await client.call("DELETE", f"/api/v1/knowledge/{knowledge_id}/delete"))


async def query_collection(client: OpenWebUIClient, names: list[str], query: str, k: int = 4) -> dict[str, Any]:
    """`POST /api/v1/retrieval/query/collection` → `{documents, metadatas, distances}` (lists of lists)."""
    body = {"collection_names": names, "query": query, "k": k}
    return await client.call("POST", "/api/v1/retrieval/query/collection", json=body)


async def set_tasks(client: OpenWebUIClient, enabled: bool) -> None:
    """Turn OpenWebUI's title, tags and follow-up tasks on or off (admin: `/api/v1/tasks/config/update` takes
    the whole form, so the current one is sent back changed)."""
    config = await client.call("GET", "/api/v1/tasks/config")
    switches = ("ENABLE_TITLE_GENERATION", "ENABLE_TAGS_GENERATION", "ENABLE_FOLLOW_UP_GENERATION")
    await client.call("POST", "/api/v1/tasks/config/update", json={**config, **dict.fromkeys(switches, enabled)})


@contextlib.asynccontextmanager
async def tasks_turned_on(url: str, api_key: str) -> AsyncIterator[OpenWebUIClient]:
    """The title, tags and follow-up tasks on for the block (off again after it: the server is shared by the
    session's tests); gives the admin client."""
    async with OpenWebUIClient(url, api_key) as admin:
        await set_tasks(admin, True)
        try:
            yield admin
        finally:
            await set_tasks(admin, False)


async def after_answers(engine: Any) -> None:
    """Until the work after every answer (titles, tags, follow-ups) is done; none of it may need cancelling."""
    assert await engine.background.drain(30) == 0


async def set_image_generation(client: OpenWebUIClient, enabled: bool, images_url: str = "", key: str = "") -> None:
    """Point OpenWebUI's image generation at an OpenAI-compatible images API (`images_url` ends in `/v1`) and
    turn it on or off (admin: `/api/v1/images/config/update`, the whole form, sent back changed)."""
    config = await client.call("GET", "/api/v1/images/config")
    changes: dict[str, Any] = {"ENABLE_IMAGE_GENERATION": enabled, "IMAGE_GENERATION_ENGINE": "openai"}
    if images_url:
        changes |= {"IMAGES_OPENAI_API_BASE_URL": images_url, "IMAGES_OPENAI_API_KEY": key}
        changes |= {"IMAGE_GENERATION_MODEL": "dall-e-2", "IMAGE_SIZE": "512x512"}
    await client.call("POST", "/api/v1/images/config/update", json={**config, **changes})


async def chat_tags(client: OpenWebUIClient, chat_id: str) -> list[str]:
    """`GET /api/v1/chats/{id}/tags` → the tag ids."""
    return [str(tag["id"]) for tag in await client.call("GET", f"/api/v1/chats/{chat_id}/tags")]
