"""Every sentence the bridge says to people about itself, written once for all platforms.

Adapters decide only what is theirs: the words for a place ("in this thread", "here"), how their
commands are typed, and their markup (`Markup`: bold and quotes differ between Discord's Markdown and
Slack's mrkdwn). So `/status`, the model and system-prompt answers, `kb list` and the refusals read the
same in Discord, Slack and the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

INTERRUPTED = "The answer was interrupted because the bridge restarted; send your message again."
RESTARTING = "The bridge is restarting; send your message again in a minute."
FAILED = "Something went wrong while answering; try again in a moment."
FORGOTTEN = (
    "I had lost my record of this conversation, so I answered without its earlier messages; "
    "it goes on in a new OpenWebUI chat."
)
USER_REFUSED = "You are not allowed to use the OpenWebUI bridge; ask the bridge's admin for access."
CHANNEL_REFUSED = "I am not allowed to answer in this channel; the bridge's admin decides where I work."
ANSWER_NOT_SHOWN = "I could not post my answer here; check that I am still in this conversation, then ask again."
CONNECTION_LOST = (
    "The connection to OpenWebUI dropped while it was answering, so the answer ends here; send your message again "
    "to get the rest."
)
QUOTE_LIMIT = 1500


def workspace_refused(kind: str) -> str:
    """A Discord server or Slack workspace left out by the operator's lists."""
    return f"This {kind} is not allowed to use the OpenWebUI bridge."


def dms_refused(instead: str) -> str:
    return f"Direct messages with me are turned off; mention me in {instead} instead."


def not_admin(who: str) -> str:
    """`who` says who the admins are on that platform (its settings, or its own roles)."""
    return f"Only admins can change this: {who}."


def empty_message(attach: str) -> str:
    return f"Ask me something after the mention, or {attach} a file with your question."


def interrupted_note() -> str:
    return f"⚠️ {INTERRUPTED}"


def progress_line(description: str) -> str:
    """What OpenWebUI is doing (its status: "Searching the web"), one short line: the reply's progress (Slack's
    assistant status, Discord's first line) until the answer starts."""
    return clipped(" ".join(description.split()), 200)


def answer_cut_long(limit: int) -> str:
    """Ends an answer cut at `BRIDGE_MAX_ANSWER_CHARS`."""
    return f"✂️ The answer was cut here: it reached the bridge's limit of {limit:,} characters."


def answer_cut_slow(seconds: float) -> str:
    """Ends an answer cut at `BRIDGE_MAX_TURN_SECONDS`."""
    return f"✂️ The answer was cut here: it took longer than the bridge's limit of {seconds:g} seconds."


# --- controls on an answer (Stop, Regenerate, 👍/👎, an edited question) --------------------------------

STOP_NOT_YOURS = "Only the person who asked, or an admin, can stop this answer."
ALREADY_FINISHED = "This answer has already finished."
STOP_PASSED_ON = "⏹️ Stopping this answer… (it may take a moment to end)"
CONTROL_EXPIRED = (
    "This button belongs to an answer the bridge has no record of any more (its database was reset); ask again."
)
CONVERSATION_ENDED = "This conversation was ended with `new`; ask again to start from here."
QUESTION_GONE = "That question is no longer in the OpenWebUI chat (it was deleted there); ask again instead."
EDIT_NOT_LAST = (
    "Only your latest question in a conversation is asked again when you edit it; send a new message instead."
)
EDITED_HEADING = "✏️ *Answer to the edited question*"
FOLLOW_UP_GONE = "That suggestion is no longer on its answer in the OpenWebUI chat; type your question instead."


def stopped_by(name: str) -> str:
    """Ends an answer someone stopped with its Stop button."""
    return f"⏹️ Stopped by {name}."


def attempt_heading(number: int) -> str:
    """Heads a regenerated answer: which of the question's answers it is."""
    return f"🔁 *Attempt {number}*"


def follow_up_heading(name: str, text: str) -> str:
    """Heads the answer to a clicked follow-up suggestion: who asked what (no message on the platform shows it)."""
    return f"💬 *{name} asked:* {text}"


def rated(rating: int, changed: bool) -> str:
    """The private confirmation of a 👍/👎 click."""
    thumb = "👍" if rating > 0 else "👎"
    return f"Your rating is now {thumb}; it is in OpenWebUI's evaluations." if changed else f"Thanks for the {thumb}."


def _plain_quote(text: str) -> str:
    return "\n> " + text.replace("\n", "\n> ")


@dataclass(frozen=True, slots=True)
class Markup:
    """How a platform writes emphasis and a quoted block."""

    bold: Callable[[str], str] = lambda text: text
    quote: Callable[[str], str] = _plain_quote


PLAIN = Markup()


def clipped(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(text: str, markup: Markup) -> str:
    return markup.quote(clipped(text, QUOTE_LIMIT))


def listing(entries: Sequence[str], limit: int, separator: str = "\n", *, total: int | None = None) -> str:
    """`entries` joined by `separator` within `limit` characters: as many as fit, then a line saying how
    many more there are (of `total`, when `entries` are only the first ones). Measured on the entries as
    given, so escape them first."""
    total = len(entries) if total is None else total
    whole = separator.join(entries)
    if total == len(entries) and len(whole) <= limit:
        return whole
    shown: list[str] = []
    size = 0  # the shown entries, each with its separator
    for entry in entries:
        more = f"… and {total - len(shown) - 1} more"
        if size + len(entry) + len(separator) + len(more) > limit:
            break
        shown.append(entry)
        size += len(entry) + len(separator)
    return separator.join([*shown, f"… and {total - len(shown)} more"])


@dataclass(frozen=True, slots=True)
class Status:
    """What `/status` reports: OpenWebUI's state, the settings in force and the conversation's chat."""

    openwebui_url: str
    version: str | None  # None: OpenWebUI did not answer (see `problem`)
    problem: str
    model: str
    system_prompt: str
    chat_id: str
    chat_link: str


def status(report: Status, *, where: str, is_conversation: bool, per_thread: str) -> str:
    """`per_thread` is the platform's sentence for a place where each thread is its own conversation."""
    if report.version is None:
        lines = [f"OpenWebUI: ⚠️ {report.problem}"]
    else:
        lines = [
            f"OpenWebUI: ✅ reachable at {report.openwebui_url} (version {report.version or '?'})",
            f"Model {where}: `{report.model or 'none'}`; system prompt: {'set' if report.system_prompt else 'none'}",
        ]
    if report.chat_id:
        lines.append(f"Conversation: chat `{report.chat_id}`, {report.chat_link}")
    elif is_conversation:
        lines.append("Conversation: none yet; the next message starts one.")
    else:
        lines.append(f"Conversation: {per_thread}")
    return "\n".join(lines)


def model_shown(model: str, where: str, available: Sequence[str], change: str) -> str:
    """`change` says how admins change it (the platform's command)."""
    listed = ", ".join(f"`{name}`" for name in available[:20]) or "none"
    return f"Model {where}: `{model or 'none'}`. Available: {listed}. {change}"


def model_set(model: str, where: str, who: str) -> str:
    return f"Model {where} set to `{model}` by {who}."


def model_inherited(model: str, where: str) -> str:
    return f"The model {where} is inherited again: `{model or 'none'}`."


def prompt_shown(prompt: str, where: str, change: str, markup: Markup) -> str:
    if not prompt:
        return f"System prompt {where}: none. {change}"
    return f"System prompt {where}:{quoted(prompt, markup)}"


def prompt_set(prompt: str, where: str, who: str, markup: Markup) -> str:
    return f"System prompt {where} set by {who}:{quoted(prompt, markup)}"


def prompt_cleared(inherited: str, where: str, who: str, markup: Markup) -> str:
    rest = f" It inherits:{quoted(inherited, markup)}" if inherited else ""
    return f"System prompt {where} cleared by {who}.{rest}"


def new_chat(started: bool, where: str) -> str:
    """After `/new`: whether there was a chat to leave."""
    if started:
        return f"Done: the next message {where} starts a new OpenWebUI chat (the previous one stays in OpenWebUI)."
    return f"There is no chat {where} yet; the next message starts one."


def knowledge_list(bases: Sequence[tuple[str, str]], ask: str, markup: Markup) -> str:
    """`bases` as (name, description); `ask` is how to ask one on this platform."""
    if not bases:
        return "OpenWebUI offers no knowledge bases to the bridge's key."
    lines = [f"• {markup.bold(name)}" + (f" — {description}" if description else "") for name, description in bases]
    return f"Knowledge bases (ask one with `{ask}`):\n" + "\n".join(lines)


def knowledge_added(filename: str, base: str) -> str:
    return f"✅ {filename} added to {base}."


def file_problem(filename: str, sentence: str) -> str:
    return f"⚠️ {filename}: {sentence}"


# --- tools and features ---------------------------------------------------------------------------

FEATURE_LABELS = {
    "web_search": "web search",
    "image_generation": "image generation",
    "code_interpreter": "code interpreter",
    "memory": "memory",
}
SWITCH_WORDS = {True: "on", False: "off", None: "back to the default"}
SWITCH_STATES: dict[str, bool | None] = {"on": True, "off": False, "default": None}
"""The states a command switches a tool or feature to (`default`: as the scope above and the model decide)."""


@dataclass(frozen=True, slots=True)
class Assistance:
    """What `/tools` and `/features` report for a place.

    tools: (name, id, switched on by an admin rather than a default of the model) in force.
    features: (feature, switched on by an admin) in force.
    switched_off: tools and features an admin turned off here or above.
    available: (name, id) of every tool OpenWebUI offers (empty when it could not be listed).
    """

    model: str
    tools: list[tuple[str, str, bool]]
    features: list[tuple[str, bool]]
    switched_off: list[str]
    available: list[tuple[str, str]]


def tools_shown(report: Assistance, where: str, change: str) -> str:
    """`change` says how admins switch a tool on this platform."""
    used = [f"`{name}`" + ("" if chosen else " (model default)") for name, _, chosen in report.tools]
    lines = [f"Tools {where} (model `{report.model or 'none'}`): {', '.join(used) or 'none'}."]
    if report.switched_off:
        lines.append("Switched off: " + ", ".join(f"`{name}`" for name in report.switched_off) + ".")
    offered = [f"`{tool_id}`" if name == tool_id else f"`{tool_id}` ({name})" for name, tool_id in report.available]
    lines.append(f"Available in OpenWebUI: {listing(offered, 1500, ', ') if offered else 'none'}. {change}")
    return "\n".join(lines)


def features_shown(report: Assistance, where: str, change: str) -> str:
    used = [FEATURE_LABELS.get(f, f) + ("" if chosen else " (model default)") for f, chosen in report.features]
    lines = [f"Features {where} (model `{report.model or 'none'}`): {', '.join(used) or 'none'}."]
    if off := [name for name in report.switched_off if name in FEATURE_LABELS]:
        lines.append("Switched off: " + ", ".join(FEATURE_LABELS[name] for name in off) + ".")
    lines.append(f"Features: {', '.join(f'`{f}`' for f in FEATURE_LABELS)}. {change}")
    return "\n".join(lines)


def switched(kind: str, name: str, on: bool | None, where: str, who: str) -> str:
    """A tool or feature turned on, off, or back to the default by an admin."""
    return f"{kind} `{name}` {where} turned {SWITCH_WORDS[on]} by {who}."


def tools_not_run(names: Sequence[str]) -> str:
    """A turn whose model only asked for tools, which OpenWebUI passed through without running them."""
    named = ", ".join(f"`{name}`" for name in dict.fromkeys(names)) or "a tool"
    return (
        f"⚠️ The model only asked to use {named}, which OpenWebUI did not run, so there is no answer. "
        "Ask again, or ask an admin to check the model's tools in OpenWebUI."
    )


IMAGE_GENERATION_OFF = "image generation is turned off in OpenWebUI, or not allowed for the bridge's user"
IMAGE_GENERATION_FAILED = "OpenWebUI's image engine failed"


def file_not_attached(name: str, link: str, limit: int) -> str:
    """A file an answer produced that cannot be posted here: too large, or the platform takes no files."""
    where = f" It is in OpenWebUI: {link}" if link else ""
    most = f"{limit // 1_048_576} MiB" if limit >= 1_048_576 else f"{max(limit // 1024, 1)} KiB"
    why = f"is larger than {most}, the most I can attach here" if limit else "cannot be attached here"
    return f"📎 `{name}` {why}.{where}"


def file_not_fetched(name: str) -> str:
    return f"📎 I could not download `{name}` from OpenWebUI to attach it."
