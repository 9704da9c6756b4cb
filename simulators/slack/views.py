"""Modals: `views.open` with a slash command's `trigger_id`, and the `view_submission` Slack sends when the
user submits one.

Slack's rules are kept because an app that breaks them fails in production: a `trigger_id` is good for
one `views.open` within 3 seconds of the command (`expired_trigger_id`, `exchanged_trigger_id`); a modal
has a plain-text title and submit label of at most 24 characters and at most 100 blocks; an input block
holds one element with an `action_id`. The app's acknowledgement of a submission decides what the user
sees: nothing (the modal closes), `response_action: "errors"` (it stays open with a message under each
named block), `"update"` (it shows the view sent instead) or `"clear"`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .config import SimConfig
from .state import Token, Workspace

TRIGGER_SECONDS = 3.0
TITLE_CHARS = 24


class ViewError(Exception):
    """A `views.open` refusal, as Slack's `error` string (and its `response_metadata.messages`)."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


@dataclass(slots=True)
class Trigger:
    user: str
    channel: str
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


@dataclass(eq=False)
class OpenView:
    """A modal on a user's screen, and what happened to it."""

    id: str
    user: str
    view: dict[str, Any]
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)
    """Each view shown in turn: the opened one, then any `update` the app answered a submission with."""

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id") or "")

    def input_ids(self) -> list[tuple[str, str]]:
        """(block_id, action_id) of each input block, as the submission reports them."""
        return [
            (str(block["block_id"]), str(block["element"]["action_id"]))
            for block in self.view.get("blocks") or []
            if block.get("type") == "input"
        ]


class Views:
    """Triggers handed out with slash commands, and the modals apps opened with them."""

    def __init__(self, ws: Workspace, config: SimConfig) -> None:
        self.ws = ws
        self.config = config
        self.triggers: dict[str, Trigger] = {}
        self.opened: list[OpenView] = []

    def issue(self, trigger_id: str, user: str, channel: str) -> None:
        """A slash command's `trigger_id`: the user's right to be shown one modal, for 3 seconds."""
        self.triggers[trigger_id] = Trigger(user, channel)

    async def open(self, params: dict[str, Any], token: Token) -> dict[str, Any]:
        """`views.open`: check the trigger and the view, then show it to the trigger's user."""
        trigger = self.triggers.get(str(params.get("trigger_id") or ""))
        if not params.get("trigger_id") or not params.get("view"):
            raise ViewError("invalid_arguments", "[ERROR] missing required field: trigger_id or view")
        if trigger is None:
            raise ViewError("invalid_trigger_id")
        if trigger.used:
            raise ViewError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > TRIGGER_SECONDS:
            raise ViewError("expired_trigger_id")
        view = _checked(params["view"])
        trigger.used = True
        opened = OpenView(self.ws.new_id("V"), trigger.user, view, shown=[view])
        for index, block in enumerate(view.get("blocks") or []):
            block.setdefault("block_id", f"b{index}")
        self.opened.append(opened)
        return {"view": self.view_payload(opened)}

    def view_payload(self, opened: OpenView) -> dict[str, Any]:
        """The view as Slack returns and submits it (with its ids and, on submission, its state)."""
        return {
            **opened.view,
            "id": opened.id,
            "team_id": self.ws.team_id,
            "app_id": self.ws.app_id,
            "bot_id": self.ws.bot_id,
            "hash": uuid.uuid4().hex[:16],
            "private_metadata": str(opened.view.get("private_metadata") or ""),
            "callback_id": opened.callback_id,
            "state": {"values": {}},
        }

    def submission(self, opened: OpenView, values: dict[str, str]) -> dict[str, Any]:
        """The `view_submission` payload for `values` (by action_id) typed into the modal's inputs."""
        known = {action for _, action in opened.input_ids()}
        if set(values) - known:
            raise ValueError(f"the modal has no inputs {sorted(set(values) - known)}; it has {sorted(known)}")
        state = {
            block: {action: {"type": "plain_text_input", "value": values.get(action) or None}}
            for block, action in opened.input_ids()
        }
        user = self.ws.users[opened.user]
        return {
            "type": "view_submission",
            "team": {"id": self.ws.team_id, "domain": self.ws.team_domain},
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id},
            "api_app_id": self.ws.app_id,
            "token": "sim-verification-token",
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
            "view": {**self.view_payload(opened), "state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    @staticmethod
    def answered(opened: OpenView, ack: Any) -> None:
        """Apply the app's acknowledgement of a submission to what the user sees."""
        action = ack.get("response_action") if isinstance(ack, dict) else None
        if action == "errors":
            opened.errors = dict(ack.get("errors") or {})
        elif action == "update":
            opened.view = _checked(ack.get("view"))
            opened.shown.append(opened.view)
            opened.errors = {}
        else:  # nothing, or "clear"
            opened.closed = True


def _checked(raw: Any) -> dict[str, Any]:
    view = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise ViewError("invalid_arguments", "[ERROR] must be a modal view")
    problems = []
    for part in ("title", "submit", "close"):
        text = view.get(part)
        if text is None:
            if part == "title":
                problems.append("[ERROR] missing required field: title")
            continue
        if not isinstance(text, dict) or text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 24:
            problems.append(f"[ERROR] failed to match all allowed schemas [json-pointer:/view/{part}]")
    blocks = view.get("blocks") or []
    if len(blocks) > 100:
        problems.append("[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]")
    inputs = [b for b in blocks if b.get("type") == "input"]
    if inputs and view.get("submit") is None:
        problems.append("[ERROR] a view with input blocks needs a submit button [json-pointer:/view/submit]")
    for block in inputs:
        if not isinstance(block.get("element"), dict) or not block["element"].get("action_id"):
            problems.append("[ERROR] an input block needs an element with an action_id")
    if problems:
        raise ViewError("invalid_arguments", *problems)
    return view
