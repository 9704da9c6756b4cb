"""What people are told about linking, in one place (the platform's commands are named by the adapter)."""

from __future__ import annotations

import time

LINKING_OFF = (
    "Linking is off on this bridge: everyone uses its own OpenWebUI account (an admin can change "
    "BRIDGE_IDENTITY_POLICY)."
)
NOT_A_KEY = "That does not look like an OpenWebUI API key (`sk-…`, no spaces); nothing was linked."
KEY_REFUSED = (
    "OpenWebUI refused that key; copy it again from OpenWebUI (Settings → Account → API keys). Nothing was linked."
)
KEY_FORBIDDEN = (
    "OpenWebUI does not let that key be used (API keys are off there, or your account lacks the API keys "
    "permission); ask an OpenWebUI admin. Nothing was linked."
)
UNREADABLE = "Your link can no longer be read by this bridge (its encryption key changed); link again with {link}."


def link_first(link: str) -> str:
    return f"This bridge answers only people who linked their OpenWebUI account: use {link} first."


def link_again(link: str) -> str:
    return f"OpenWebUI refused your linked key (deleted or expired); link it again with {link}."


def linked(name: str, email: str, unlink: str) -> str:
    who = name + (f" ({email})" if email else "") if name else "your OpenWebUI account"
    return f"✅ Linked: you now talk to OpenWebUI as {who}. Your key is stored encrypted; {unlink} forgets it."


def whoami(name: str, email: str, linked_at: float | None, refused: bool, policy: str, link: str) -> str:
    if linked_at is None:
        fallback = (
            "you cannot use the bot until you link"
            if policy == "linked"
            else "you use the bridge's own OpenWebUI account"
        )
        return f"You are not linked to an OpenWebUI account: {fallback}. {link} links yours."
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(linked_at))
    who = (name or "an OpenWebUI account") + (f" ({email})" if email else "")
    state = f" ⚠️ OpenWebUI refused the key since; link again with {link}." if refused else ""
    return f"You talk to OpenWebUI as {who}, linked {since}.{state}"


def mapped_by_email(name: str, email: str, platform: str, link: str) -> str:
    who = (name or "an OpenWebUI account") + f" ({email})"
    return (
        f"You talk to OpenWebUI as {who}, mapped by email: your verified {platform.title()} email is that "
        f"account's. {link} links another account with its API key instead."
    )


EMAIL_SIGN_IN_FAILED = (
    "OpenWebUI did not answer when the bridge signed you in by your email; you were not answered. Try again shortly."
)


def email_refused(link: str) -> str:
    return (
        "OpenWebUI refused the session of your email's account (removed, or its sessions revoked); "
        f"send your message again, or link a key with {link}."
    )


def unlinked(was: bool) -> str:
    return "Unlinked: the bridge forgot your key." if was else "You were not linked."


def not_allowed_model(model: str) -> str:
    return (
        f"This conversation uses the model `{model}`, which your OpenWebUI account may not use; "
        "you were not answered from it."
    )


def not_allowed_knowledge(name: str) -> str:
    return f"Your OpenWebUI account may not use the knowledge base `{name}`; you were not answered from it."


def owner_gone(link: str) -> str:
    return (
        "This conversation's OpenWebUI chat belongs to the person who started it, whose link no longer works; "
        f"start a new conversation (or, if it is yours, link again with {link})."
    )


SERVICE_CHAT = (
    "This conversation was started with the bridge's own OpenWebUI account, which this bridge no longer uses; "
    "start a new conversation."
)


def owner_refused(link: str) -> str:
    return (
        "Not answered: the OpenWebUI key of the person who started this conversation was refused; "
        f"they must link again ({link})."
    )
