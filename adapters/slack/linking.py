"""`/owui link`, `/owui whoami`, `/owui unlink`: each person links their own OpenWebUI account.

`link` opens a modal (`views.open` with the command's `trigger_id`, which Slack honours once, within 3 s):
the key is typed into a form only that person sees, never into a message or the command's text (which
Slack shows in the channel's history of commands for some clients). The submission is checked against
OpenWebUI before it is acknowledged, so a refused key is shown as an error under the field and the form
stays open; a linked one replaces the form with the confirmation. Nothing here logs or repeats the key.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import Access
from adapters.slack.commands import Invocation, Respond
from adapters.slack.events import PLATFORM
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.identity.texts import LINKING_OFF

log = logging.getLogger(__name__)

CALLBACK_ID = "owui-link"
KEY_BLOCK = "key"
KEY_ACTION = "api_key"
SUBCOMMANDS = ("link", "whoami", "unlink")
CHECK_SECONDS = 2.5
"""How long checking a key may take: Slack wants the submission acknowledged within 3 s."""


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def key_form() -> dict[str, Any]:
    """The modal `link` opens."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _text("Link OpenWebUI"),
        "submit": _text("Link"),
        "close": _text("Cancel"),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Paste an API key of your OpenWebUI account (OpenWebUI → Settings → Account → API keys). "
                    "The bridge checks it, stores it encrypted, and then talks to OpenWebUI as you.",
                },
            },
            {
                "type": "input",
                "block_id": KEY_BLOCK,
                "label": _text("API key"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": KEY_ACTION,
                    "placeholder": _text("sk-…"),
                    "min_length": 8,
                    "max_length": 512,
                },
            },
        ],
    }


def done_view(text: str) -> dict[str, Any]:
    """What the form turns into once linked."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _text("Linked"),
        "close": _text("Done"),
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text}}],
    }


class Linking:
    """The three subcommands and the form's submission."""

    def __init__(self, core: Core, client: AsyncWebClient, access: Access, command: str) -> None:
        self.core = core
        self.client = client
        self.access = access
        self.command = command
        core.set_link_command(PLATFORM, f"`{command} link`")

    @staticmethod
    def handles(text: str) -> bool:
        return text.strip().split(" ", 1)[0].lower() in SUBCOMMANDS

    async def run(self, payload: dict[str, Any], respond: Respond) -> None:
        """One of the subcommands; every answer is ephemeral."""
        invocation = Invocation.from_payload(payload)
        refusal = self.access.refusal(
            invocation.team_id, invocation.channel_id, invocation.user_id, is_dm=invocation.is_dm
        )
        name = invocation.text.strip().split(" ", 1)[0].lower()
        if refusal or not self.core.linking:
            await respond(text=refusal or LINKING_OFF, response_type="ephemeral")
        elif name == "whoami":
            await respond(text=await self.core.whoami(PLATFORM, invocation.user_id), response_type="ephemeral")
        elif name == "unlink":
            await respond(text=await self.core.unlink(PLATFORM, invocation.user_id), response_type="ephemeral")
        else:
            try:
                await self.client.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=key_form())
            except SlackApiError as error:
                log.warning("Slack: could not open the link form: %s", error.response.get("error"))
                await respond(text=f"⚠️ Slack did not open the form; run `{self.command} link` again.")

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The form submitted: link, then show the result in the form (errors keep it open)."""
        values = (view.get("state") or {}).get("values") or {}
        key = str(((values.get(KEY_BLOCK) or {}).get(KEY_ACTION) or {}).get("value") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                text = await self.core.link(PLATFORM, user_id, key, f"`{self.command} unlink`")
        except (UserFacingError, OpenWebUIError) as exc:
            await ack(response_action="errors", errors={KEY_BLOCK: explain(exc)[:150]})
            return
        except TimeoutError:
            await ack(response_action="errors", errors={KEY_BLOCK: "OpenWebUI did not answer in time; try again."})
            return
        await ack(response_action="update", view=done_view(text))
