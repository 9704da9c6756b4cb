"""Which attachments OpenWebUI can turn into text for the model.

OpenWebUI 0.12 accepts any upload and "extracts" binaries as garbage text, so the bridge decides:
documents and text by content type, code and text files by extension (platforms often label them
`application/octet-stream`). Everything else is refused with a sentence naming the file.
"""

from __future__ import annotations

from pathlib import PurePath

DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/rtf",
        "application/epub+zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/x-sh",
        "application/javascript",
        "application/sql",
    }
)

TEXT_EXTENSIONS = frozenset(
    [
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".xml",
        ".html",
        ".htm",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".log",
        ".pdf",
        ".docx",
        ".doc",
        ".xlsx",
        ".xls",
        ".pptx",
        ".odt",
        ".rtf",
        ".epub",
        ".tex",
        ".py",
        ".js",
        ".mjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".java",
        ".kt",
        ".scala",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".cs",
        ".go",
        ".rs",
        ".rb",
        ".php",
        ".swift",
        ".m",
        ".r",
        ".lua",
        ".pl",
        ".sh",
        ".bash",
        ".zsh",
        ".ps1",
        ".sql",
        ".css",
        ".scss",
        ".vue",
        ".svelte",
        ".dart",
        ".ex",
        ".exs",
        ".erl",
        ".hs",
        ".clj",
        ".tf",
        ".proto",
        ".graphql",
        ".dockerfile",
        ".gradle",
        ".properties",
        ".env.example",
    ]
)

SUPPORTED = "text, Markdown, PDF, Office documents, CSV/JSON or code"


def readable(filename: str, content_type: str) -> bool:
    """True when OpenWebUI can extract text from a file of this name and type."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type.startswith("text/") or content_type in DOCUMENT_TYPES:
        return True
    name = filename.lower()
    return PurePath(name).suffix in TEXT_EXTENSIONS or name in ("dockerfile", "makefile")
