"""Where a turn's question goes in the OpenWebUI chat tree: after the newest message, or on a new branch.

The web UI keeps every version of a conversation in one tree (`parentId`/`childrenIds`) and shows the chain
ending at `currentId`. Its *regenerate* adds another answer under the same question; its *edit* adds the
edited question as a sibling of the old one (same parent) and answers it. The bridge does the same for a
Regenerate button and for an edited question, so the web UI shows "2 / 2" there, and since writing the
answer moves `currentId` to it, every later turn continues from the newest branch.

A variant turn's event id is the question's platform id, `#`, its kind and the click (or edit) that made
it: it is claimed once like any event, and `Store.turn_of_question` finds every answer to a question.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from bridge import texts
from bridge.errors import UserFacingError
from bridge.openwebui import chat as chats


class BranchKind(enum.StrEnum):
    REGENERATE = "regen"
    EDIT = "edit"


@dataclass(frozen=True, slots=True)
class Branch:
    """A turn that forks the chat: answer `user_message_id` again (REGENERATE), or ask the edited text as
    its sibling (EDIT). `stop_id` is what the new answer's Stop button names (the click or the edited
    message), as a plain turn's names its question."""

    kind: BranchKind
    user_message_id: str
    stop_id: str


@dataclass(frozen=True, slots=True)
class PlacedQuestion:
    """The question of a turn in the chat: its id, the answer's future siblings' parent, and what to write."""

    user_id: str
    parent_id: str | None
    patch: dict[str, Any] | None  # the update that writes the question; None when it is there already
    heading: str = ""  # shown above the answer on the platform (never stored in OpenWebUI)


def variant_event_id(question: str, kind: BranchKind, made_by: str) -> str:
    return f"{question}#{kind}:{made_by}"


def stop_id_of(event_id: str) -> str:
    """What the Stop button of the turn with `event_id` names (`Branch.stop_id`): the click that regenerated
    it, the question that was edited, or the event id itself for any other turn."""
    question, _, variant = event_id.partition("#")
    kind, _, made_by = variant.partition(":")
    if kind == BranchKind.REGENERATE and made_by:
        return made_by
    return question if kind == BranchKind.EDIT and made_by else event_id


def place_question(
    chat: dict[str, Any],
    new_id: str,
    text: str,
    model: str,
    files: list[dict[str, Any]],
    branch: Branch | None,
    *,
    name: str = "",
) -> PlacedQuestion:
    """Put the question into `chat` (as read back; it is updated in place) and say what to write; `name` is
    the asker's display name (`chats.user_message`)."""
    messages: dict[str, Any] = chat["history"]["messages"]
    if branch is None:
        parent = chat["history"]["currentId"]
        user = chats.user_message(new_id, parent, text, model, files=files, name=name)
        return PlacedQuestion(new_id, parent, chats.attach(chat, user))
    original = messages.get(branch.user_message_id)
    if not isinstance(original, dict) or original.get("role") != "user":
        raise UserFacingError(texts.QUESTION_GONE)
    parent = original.get("parentId") if isinstance(original.get("parentId"), str) else None
    if branch.kind is BranchKind.REGENERATE:
        chats.select(chat, branch.user_message_id)
        heading = texts.attempt_heading(chats.answers_to(chat, branch.user_message_id) + 1)
        return PlacedQuestion(branch.user_message_id, parent, None, heading)
    files = list(original.get("files") or [])
    user = chats.user_message(new_id, parent, text, model, files=files, name=name)
    return PlacedQuestion(new_id, parent, chats.attach(chat, user), texts.EDITED_HEADING)
