"""The chat object OpenWebUI's web UI renders, and the turn the bridge writes back into it.

A chat's `history.messages` is a tree linked by `parentId`/`childrenIds`; the conversation shown (and the
context of the next turn) is the chain from `history.currentId` up to the root. The server merges
`history.messages` by message id on update, so a turn is written by sending only the new messages, the
parent with its updated `childrenIds`, and the new `currentId`.
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any


def new_chat(title: str, model: str) -> dict[str, Any]:
    """An empty chat the web UI opens with its title and model shown."""
    return {
        "title": title,
        "models": [model],
        "history": {"currentId": None, "messages": {}},
        "messages": [],
        "tags": [],
        "files": [],
        "params": {},
        "timestamp": int(time.time() * 1000),
    }


def readable(chat: Any) -> dict[str, Any] | None:
    """A chat as read back, with the `history`, `messages` and `currentId` a chat created elsewhere may
    lack filled in; None when it is stored in a shape neither the web UI nor OpenWebUI's own updates can
    handle (`history` or `messages` not an object, a message that is not one, `currentId` not an id): the
    real server answers 500 to every update of such a chat, so the bridge starts a new one instead."""
    if not isinstance(chat, dict):
        return None
    history = {} if chat.get("history") is None else chat["history"]
    if not isinstance(history, dict):
        return None
    messages = {} if history.get("messages") is None else history["messages"]
    current = history.get("currentId")
    if (
        not isinstance(messages, dict)
        or not all(isinstance(message, dict) for message in messages.values())
        or not isinstance(current, str | None)
    ):
        return None
    return {**chat, "history": {**history, "messages": dict(messages), "currentId": current}}


def chain(chat: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages from the root down to `currentId`: what the web UI shows and the model is given."""
    history = chat.get("history") or {}
    messages: dict[str, Any] = history.get("messages") or {}
    current = history.get("currentId")
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in messages and current not in seen:
        seen.add(current)
        message = messages[current]
        path.append(message)
        current = message.get("parentId")
    path.reverse()
    return path


def user_message(
    message_id: str,
    parent_id: str | None,
    content: str,
    model: str,
    files: list[dict[str, Any]] | None = None,
    name: str = "",
) -> dict[str, Any]:
    """A user message; `name` is its author's display name, kept in the chat so it shows who said what and
    passed to the model on every later turn (`completion_messages`)."""
    message: dict[str, Any] = {
        "id": message_id,
        "parentId": parent_id,
        "childrenIds": [],
        "role": "user",
        "content": content,
        "timestamp": int(time.time()),
        "models": [model],
    }
    if files:
        message["files"] = files
    if name:
        message["name"] = name
    return message


def assistant_message(
    message_id: str,
    parent_id: str,
    content: str,
    model: str,
    *,
    sources: list[dict[str, Any]] | None = None,
    files: list[dict[str, Any]] | None = None,
    error: str = "",
) -> dict[str, Any]:
    """A finished assistant message. Always `done: true`: the chats API never finishes a `done: false` one.
    `files` (`{"type": "image", "url": ...}`) are pictures the web UI shows under it."""
    message: dict[str, Any] = {
        "id": message_id,
        "parentId": parent_id,
        "childrenIds": [],
        "role": "assistant",
        "content": content,
        "model": model,
        "modelName": model,
        "modelIdx": 0,
        "done": True,
        "timestamp": int(time.time()),
    }
    if sources:
        message["sources"] = sources
    if files:
        message["files"] = files
    if error:
        message["error"] = {"content": error}
    return message


def attach(chat: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The update that adds `message` under its parent and makes it current; also applied to `chat`.

    Returns the body for `OpenWebUIClient.update_chat`: the new message, its parent with the new child,
    `currentId`, and the flat `messages` list of the new chain (older clients read it).
    """
    history = chat.setdefault("history", {"currentId": None, "messages": {}})
    messages = history.setdefault("messages", {})
    changed = {message["id"]: message}
    parent_id = message.get("parentId")
    if parent_id and parent_id in messages:
        parent = dict(messages[parent_id])
        children = parent.get("childrenIds")
        parent["childrenIds"] = [*(children if isinstance(children, list) else []), message["id"]]
        changed[parent_id] = parent
    messages.update(changed)
    history["currentId"] = message["id"]
    flat = [{"id": m.get("id"), "role": m.get("role"), "content": _text(m.get("content"))} for m in chain(chat)]
    chat["messages"] = flat
    return {"history": {"currentId": message["id"], "messages": changed}, "messages": flat}


def select(chat: dict[str, Any], message_id: str) -> None:
    """Make `message_id` current in `chat` as read back, without writing anything: a regenerated answer's
    context ends at its question, and writing the answer (`attach`) moves `currentId` in OpenWebUI."""
    chat["history"]["currentId"] = message_id


def answers_to(chat: dict[str, Any], user_message_id: str) -> int:
    """How many answers the question `user_message_id` has in the chat's tree (the web UI's "n / m")."""
    messages: dict[str, Any] = chat["history"]["messages"]
    children = messages.get(user_message_id, {}).get("childrenIds")
    ids = children if isinstance(children, list) else []
    return sum(
        1 for child in ids if isinstance(messages.get(child), dict) and messages[child].get("role") == "assistant"
    )


def completion_messages(path: list[dict[str, Any]], system_prompt: str = "") -> list[dict[str, Any]]:
    """OpenAI-style messages for a completion from a chat chain; images a user sent become image parts."""
    out: list[dict[str, Any]] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    for message in path:
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            continue
        content = _text(message.get("content"))
        images = [
            f["url"]
            for f in message.get("files") or []
            if isinstance(f, dict) and f.get("type") == "image" and f.get("url")
        ]
        if role == "user" and images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": content}]
            parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
            out.append({"role": role, "content": parts})
        else:
            out.append({"role": role, "content": content})
        speaker = speaker_name(message.get("name")) if role == "user" else ""
        if speaker:
            out[-1]["name"] = speaker
    return out


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message of a completion's messages (its text parts, for one with images)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
                return "\n".join(str(p.get("text", "")) for p in parts)
            return _text(content)
    return ""


def speaker_name(name: Any) -> str:
    """A display name as the OpenAI-style `name` field of a message: OpenWebUI 0.12.4 passes it to the model
    as it is (checked on a real server), and OpenAI-compatible providers accept only letters, digits, `_`
    and `-`, up to 64. Accents are dropped (Zoë → Zoe), other characters become `_`; "" when nothing is left."""
    if not isinstance(name, str):
        return ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_name).strip("_")
    return cleaned[:64]


def _text(content: Any) -> str:
    """A message's text; what another client stored in another shape counts as none."""
    return content if isinstance(content, str) else ""
