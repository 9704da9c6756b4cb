"""The OpenWebUI side of the bridge: its HTTP client, its errors, and the shape of its chats."""

from bridge.openwebui.client import (
    CompletionEvent,
    KnowledgeBase,
    MalformedEvent,
    Model,
    OpenWebUIClient,
    Progress,
    SavedAnswer,
    Sources,
    TextDelta,
    UploadedFile,
)

__all__ = [
    "CompletionEvent",
    "KnowledgeBase",
    "MalformedEvent",
    "Model",
    "OpenWebUIClient",
    "Progress",
    "SavedAnswer",
    "Sources",
    "TextDelta",
    "UploadedFile",
]
