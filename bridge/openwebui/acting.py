"""Whose OpenWebUI key a call uses: the bridge's own (service) key, or a linked person's.

The identity is carried by a context variable rather than passed through every call: a turn, a model
list or an upload runs inside `acting_as(person)` and every OpenWebUI request it makes (including those
of tasks it starts) carries that person's key. The engine and catalog stay the same for every identity,
and nothing can fall back to the service key by forgetting an argument: the scope decides, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(eq=False)
class Acting:
    """A linked person's credential for the calls of one scope, sent as `Authorization: Bearer`: their API
    key (`sk-…`) or an OpenWebUI session JWT (people mapped by email, `bridge.identity.by_email`); the server
    takes either. `label` names them in caches and logs (never the key); `refused` is set when OpenWebUI
    refused it (deleted or expired), so the caller can tell them privately."""

    label: str
    api_key: str = field(repr=False)
    refused: bool = False


_ACTING: ContextVar[Acting | None] = ContextVar("openwebui_acting", default=None)


def acting() -> Acting | None:
    """The person the current calls act as; None: the service key."""
    return _ACTING.get()


def cache_label() -> str:
    """What a per-identity cache is keyed by: the person's label, or "service"."""
    current = _ACTING.get()
    return current.label if current is not None else "service"


@contextmanager
def acting_as(person: Acting | None) -> Iterator[Acting | None]:
    """Every OpenWebUI call inside uses `person`'s key (None: the service key)."""
    token = _ACTING.set(person)
    try:
        yield person
    finally:
        _ACTING.reset(token)
