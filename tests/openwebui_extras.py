"""OpenWebUI calls only tests make (set-up, clean-up, checks), through the client's one `call` method, so the
product client keeps only what the bridge uses."""

from __future__ import annotations

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
