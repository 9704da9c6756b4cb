"""OpenWebUI's prompt library as commands: a prompt's `{{variables}}` filled from what follows the command.

In the web UI, typing `/command` inserts the prompt's `content` and asks for its *input variables*
(`{{name}}`, or `{{name | text:default="…"}}` with a type and options) in a form, and fills the *system
variables* (`{{CLIPBOARD}}`, `{{CURRENT_DATE}}`, `{{USER_NAME}}`…) itself. A chat command has no form, so the
command's text fills them, by one rule:

* `key=value` words at the start of the text fill the variables of that name (`"quoted value"` for spaces);
* the rest of the text fills `{{CLIPBOARD}}` when the prompt has it, else the one input variable still
  empty (the one without a default, when the others have one), else it is added after the prompt (as a
  person would type after an inserted prompt);
* an input variable nobody filled takes its `default="…"` if it has one; otherwise the command is answered
  with the variables it needs, and nothing is asked;
* the date and time variables and `{{USER_NAME}}` (the asker) are filled by the bridge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.errors import UserFacingError
from bridge.openwebui import Prompt

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w-]*)\s*(\|[^}]*)?\}\}")
_DEFAULT = re.compile(r'default\s*=\s*"([^"]*)"')
_PAIR = re.compile(r'\s*([A-Za-z_][\w-]*)=(?:"([^"]*)"|“([^”]*)”|(\S+))(?=\s|$)')
CLIPBOARD = "CLIPBOARD"


@dataclass(frozen=True, slots=True)
class Variable:
    """One `{{name | options}}` of a prompt, and its default (None when it has none)."""

    name: str
    default: str | None


def system_values(user_name: str, now: datetime | None = None) -> dict[str, str]:
    """The system variables the bridge fills as the web UI would (in the bridge's local time)."""
    now = now or datetime.now().astimezone()
    return {
        "CURRENT_DATE": now.strftime("%Y-%m-%d"),
        "CURRENT_TIME": now.strftime("%H:%M:%S"),
        "CURRENT_DATETIME": now.strftime("%Y-%m-%d %H:%M:%S"),
        "CURRENT_WEEKDAY": now.strftime("%A"),
        "CURRENT_TIMEZONE": now.strftime("%Z"),
        "USER_NAME": user_name,
    }


def variables(content: str) -> list[Variable]:
    """The input variables of a prompt, in order, once each (system variables left out)."""
    found: dict[str, Variable] = {}
    for match in _VARIABLE.finditer(content):
        name, options = match.group(1), match.group(2) or ""
        if name == CLIPBOARD or name in system_values(""):
            continue
        default = _DEFAULT.search(options)
        found.setdefault(name, Variable(name, default.group(1) if default else None))
    return list(found.values())


def split_pairs(text: str) -> tuple[dict[str, str], str]:
    """The leading `key=value` words of `text` and the rest, its own spacing and line breaks kept. A value
    with spaces is quoted (`"…"` or `“…”`)."""
    pairs: dict[str, str] = {}
    position = 0
    while match := _PAIR.match(text, position):
        pairs[match.group(1)] = next(v for v in match.group(2, 3, 4) if v is not None)
        position = match.end()
    return pairs, text[position:].strip()


def fill(prompt: Prompt, text: str, user_name: str, now: datetime | None = None) -> str:
    """The question `prompt` asks with the command's `text` (the module docstring's rule)."""
    inputs = variables(prompt.content)
    names = {v.name for v in inputs}
    pairs, rest = split_pairs(text)
    unknown = [key for key in pairs if key not in names]
    if unknown and not names:
        pairs, rest = {}, text.strip()  # a prompt without variables: `a=b` is just part of the text
    elif unknown:
        raise UserFacingError(_usage(prompt, inputs, f"`{prompt.command}` has no variable `{unknown[0]}`."))
    values = system_values(user_name, now) | pairs
    has_clipboard = any(m.group(1) == CLIPBOARD for m in _VARIABLE.finditer(prompt.content))
    empty = [v for v in inputs if v.name not in values]
    needed = [v for v in empty if v.default is None] or empty
    if rest and has_clipboard:
        values[CLIPBOARD], rest = rest, ""
    elif rest and len(needed) == 1:
        values[needed[0].name], rest = rest, ""
    for variable in inputs:
        if variable.name not in values and variable.default is not None:
            values[variable.name] = variable.default
    missing = [v.name for v in inputs if v.name not in values]
    if missing:
        raise UserFacingError(_usage(prompt, inputs, f"`{prompt.command}` needs {', '.join(missing)}."))
    values.setdefault(CLIPBOARD, "")
    question = _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), prompt.content).strip()
    return f"{question}\n\n{rest}" if rest else question


def _usage(prompt: Prompt, inputs: Sequence[Variable], problem: str) -> str:
    example = " ".join(f'{v.name}="…"' for v in inputs)
    return f"{problem} Give each as `name=value` after the command: `{prompt.command} {example}`."


def find(prompts: Sequence[Prompt], command: str) -> Prompt:
    """The prompt whose command is `command` (with or without its slash, any case)."""
    wanted = command.strip().lstrip("/").lower()
    for prompt in prompts:
        if prompt.command.lower() == wanted:
            return prompt
    known = ", ".join(f"`{p.command}`" for p in prompts[:15]) or "none"
    raise UserFacingError(f"There is no prompt `{command}` in OpenWebUI's prompt library. Prompts: {known}.")
