"""Discord's JSON error answers and the message-body checks that produce them.

Shapes follow Discord's API reference: ``{"code": ..., "message": ...}`` and, for form errors (code 50035),
an ``errors`` tree whose leaves are ``{"_errors": [{"code": ..., "message": ...}]}``. discord.py flattens that
tree into the text of its ``HTTPException``, so the bridge sees the same thing it would see in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
EMBED_FIELD_LIMITS = {"title": 256, "description": 4096}
EMBED_FIELDS_PER_EMBED = 25
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_AUTHOR_LIMIT = 256
THREAD_NAME_LIMIT = 100


class DiscordError(Exception):
    """An error answer: HTTP status plus Discord's JSON body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def not_found(code: int, what: str) -> DiscordError:
    """``404 Unknown Channel`` (10003), ``Unknown Message`` (10008) and friends."""
    return DiscordError(404, code, f"Unknown {what}")


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def form_error(errors: dict[str, Any]) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def _leaf(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _max_length(limit: int) -> dict[str, Any]:
    return _leaf("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_size(embed: dict[str, Any]) -> int:
    """Characters that count towards Discord's 6,000 per message."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for item in embed.get("fields") or []:
        size += len(item.get("name") or "") + len(item.get("value") or "")
    return size


def _embed_errors(embed: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, limit in EMBED_FIELD_LIMITS.items():
        if len(embed.get(key) or "") > limit:
            yield key, _max_length(limit)
    if len((embed.get("footer") or {}).get("text") or "") > EMBED_FOOTER_LIMIT:
        yield "footer", {"text": _max_length(EMBED_FOOTER_LIMIT)}
    if len((embed.get("author") or {}).get("name") or "") > EMBED_AUTHOR_LIMIT:
        yield "author", {"name": _max_length(EMBED_AUTHOR_LIMIT)}
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_PER_EMBED:
        yield "fields", _max_length(EMBED_FIELDS_PER_EMBED)
        return
    field_errors: dict[str, Any] = {}
    for index, item in enumerate(fields):
        problems: dict[str, Any] = {}
        if len(item.get("name") or "") > EMBED_FIELD_NAME_LIMIT:
            problems["name"] = _max_length(EMBED_FIELD_NAME_LIMIT)
        if len(item.get("value") or "") > EMBED_FIELD_VALUE_LIMIT:
            problems["value"] = _max_length(EMBED_FIELD_VALUE_LIMIT)
        if problems:
            field_errors[str(index)] = problems
    if field_errors:
        yield "fields", field_errors


def check_message(content: str | None, embeds: list[dict[str, Any]] | None, has_files: bool) -> None:
    """Raise what Discord answers for an empty, too long, or over-embedded message body."""
    content = content or ""
    embeds = embeds or []
    errors: dict[str, Any] = {}
    if len(content) > CONTENT_LIMIT:
        errors["content"] = _max_length(CONTENT_LIMIT)
    if len(embeds) > EMBEDS_PER_MESSAGE:
        errors["embeds"] = _max_length(EMBEDS_PER_MESSAGE)
    else:
        per_embed = {str(i): dict(_embed_errors(embed)) for i, embed in enumerate(embeds)}
        per_embed = {index: problems for index, problems in per_embed.items() if problems}
        if per_embed:
            errors["embeds"] = per_embed
        elif sum(_embed_size(embed) for embed in embeds) > EMBED_TOTAL_LIMIT:
            errors["embeds"] = _leaf(
                "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_LIMIT}"
            )
    if errors:
        raise form_error(errors)
    if not content.strip() and not embeds and not has_files:
        raise empty_message()


def check_thread_name(name: Any) -> str:
    """Thread names are required and at most 100 characters."""
    if not isinstance(name, str) or not name.strip():
        raise form_error({"name": _leaf("BASE_TYPE_REQUIRED", "This field is required")})
    if len(name) > THREAD_NAME_LIMIT:
        raise form_error({"name": _max_length(THREAD_NAME_LIMIT)})
    return name


class SimUsageError(ValueError):
    """A test asked the simulator for something a Discord user could not do (e.g. run an unsynced command)."""
