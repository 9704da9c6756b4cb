"""The OpenWebUI side of the bridge: its HTTP client, its errors, and the shape of its chats."""

from bridge.openwebui.client import (
    CompletionEvent,
    FileContent,
    KnowledgeBase,
    MalformedEvent,
    Model,
    OpenWebUIClient,
    Sources,
    TextDelta,
    UploadedFile,
)

__all__ = [
    "CompletionEvent",
    "FileContent",
    "KnowledgeBase",
    "MalformedEvent",
    "Model",
    "OpenWebUIClient",
    "Sources",
    "TextDelta",
    "UploadedFile",
]
