"""The bridge's memory: which OpenWebUI chat each platform conversation is, and what turns need."""

from bridge.store.migrate import SchemaError, migrate
from bridge.store.store import Conversation, ScopeSettings, Store, StoredFile, StoreError, Turn

__all__ = [
    "Conversation",
    "SchemaError",
    "ScopeSettings",
    "Store",
    "StoreError",
    "StoredFile",
    "Turn",
    "migrate",
]
