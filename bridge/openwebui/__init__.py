"""The OpenWebUI side of the bridge: its HTTP client, its errors, and the shape of its chats."""

from bridge.openwebui.client import (
    FEATURES,
    CompletionEvent,
    FileContent,
    KnowledgeBase,
    MalformedEvent,
    Model,
    OpenWebUIClient,
    Progress,
    Prompt,
    SavedAnswer,
    Sources,
    TextDelta,
    Tool,
    ToolCalls,
    UploadedFile,
)

__all__ = [
    "FEATURES",
    "CompletionEvent",
    "FileContent",
    "KnowledgeBase",
    "MalformedEvent",
    "Model",
    "OpenWebUIClient",
    "Progress",
    "Prompt",
    "SavedAnswer",
    "Sources",
    "TextDelta",
    "Tool",
    "ToolCalls",
    "UploadedFile",
]
