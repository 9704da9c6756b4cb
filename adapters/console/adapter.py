"""`bridge chat`: the smallest adapter, and the example of the adapter contract (README, "Adding a platform").

The terminal is one conversation (it continues across runs until `/new`), kept as an OpenWebUI chat
like any thread. A reply "edit" appends what is new to the screen, so the answer streams as it comes.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TextIO

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bridge import texts
from bridge.adapter import Platform
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.messages import ConversationKey, IncomingMessage, InterruptedTurn
from bridge.outcomes import TurnStatus
from bridge.settings import PlatformSettings
from bridge.surface import Grant, Operation, Source, SurfaceExtras, SurfaceLimits

PLATFORM = "console"
HELP = """commands: /new (start a new chat)  /model [name] (show or set the model)  /models  /help  /quit"""

LineReader = Callable[[], Awaitable[str | None]]


class ConsoleSettings(PlatformSettings):
    """The terminal chat. Never started by `bridge run` (it needs a person at the keyboard)."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_")

    user: str = Field("", description="whose conversation the terminal continues; default: the login name")
    model: str = Field("", description="model for the terminal's conversation (`bridge chat --model`)")


class ConsoleSurface(SurfaceExtras):
    """A reply on a terminal: posting prints, editing prints the part of the text that is new."""

    limits = SurfaceLimits(max_chars=100_000, min_edit_interval=0.05)

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._shown: dict[str, str] = {}

    async def show_progress(self, activity: str = "") -> None:
        self._write(f"{activity}\n" if activity else "… ")

    async def pace(self, op: Operation, final: bool) -> Grant:
        return Grant(op, final)

    async def post(self, text: str, grant: Grant) -> str:
        message_id = str(len(self._shown) + 1)
        self._write(("\n" if self._shown else "\r") + text)
        self._shown[message_id] = text
        return message_id

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        shown = self._shown.get(message_id, "")
        self._write(text[len(shown) :] if text.startswith(shown) else "\n" + text)
        self._shown[message_id] = text

    async def close(self) -> None:
        return None

    async def show_sources(self, sources: list[Source]) -> None:
        self._write("\nSources: " + ", ".join(s.name for s in sources))

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


class ConsoleAdapter:
    """Reads lines, answers them through the core; `/` lines are commands."""

    def __init__(
        self,
        core: Core,
        settings: ConsoleSettings,
        *,
        read_line: LineReader | None = None,
        out: TextIO = sys.stdout,
    ) -> None:
        self.core = core
        self.settings = settings
        self.out = out
        self.read_line = read_line or StdinLines(out)
        self.key = ConversationKey(PLATFORM, "local", settings.user or getpass.getuser())
        self._loop: asyncio.Task[None] | None = None

    # --- the adapter contract -------------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.model:
            await self._set_model(self.settings.model)
        model, _ = await self.core.effective_settings(self.key)
        self._print(f"Chatting with {model or 'OpenWebUI'}. {HELP}")
        self._loop = asyncio.create_task(self._read_loop(), name="console")

    def ready(self) -> bool:
        return self._loop is not None and not self._loop.done()

    async def wait_closed(self) -> None:
        """Until the person quits (`/quit`, end of input)."""
        assert self._loop is not None, "start() first"
        await asyncio.shield(self._loop)

    async def stop(self, grace: float) -> None:
        """The answer in progress had its grace in the engine's drain; the prompt just ends."""
        if self._loop is not None and not self._loop.done():
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        """A terminal keeps no messages to edit: the note is printed, nothing shown is known."""
        if turn.key == self.key:
            self._print(note)
        return []

    # --- the conversation -----------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            line = await self.read_line()
            if line is None or line.strip() in ("/quit", "/exit"):
                return
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                await self._command(line)
                continue
            message = IncomingMessage(
                key=self.key,
                event_id=str(uuid.uuid4()),
                author_id=self.key.channel,
                author_name=self.key.channel,
                text=line,
            )
            outcome = await self.core.handle(message, ConsoleSurface(self.out))
            self._print("")
            if outcome.private_note:  # the identity policy's refusal: the terminal's user links no account
                self._print(f"⛔ {outcome.private_note}")
            if outcome.status == TurnStatus.ANSWERED and outcome.chat_id:
                _, link = await self.core.chat_link(self.key)
                self._print(f"[{link}]")

    async def _command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        try:
            if name == "/new":
                self._print(texts.new_chat(await self.core.new_conversation(self.key), "here"))
            elif name == "/models":
                models = await self.core.models(refresh=True)
                self._print("\n".join(f"  {m.id}" + (f"  ({m.name})" if m.name != m.id else "") for m in models))
            elif name == "/model":
                if arg:
                    await self._set_model(arg)
                else:
                    model, _ = await self.core.effective_settings(self.key)
                    names = [m.id for m in await self.core.models()]
                    self._print(texts.model_shown(model, "here", names, "Change it with `/model <name>`."))
            else:
                self._print(HELP)
        except (UserFacingError, OpenWebUIError) as exc:
            self._print(explain(exc))

    async def _set_model(self, name: str) -> None:
        model = await self.core.set_model(self.key, name)
        self._print(texts.model_set(model.id, "here", "you"))

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


class StdinLines:
    """Lines from the terminal (or a pipe), read by the event loop itself, after a `> ` prompt.

    Not `input()` in a worker thread: a thread blocked in `input()` cannot be cancelled, and `asyncio.run`
    waits for it, so Ctrl-C at the prompt did nothing until Enter (and `bridge demo` could not stop its
    OpenWebUI). The loop waits until stdin is readable and then reads what is there, which does not block:
    a whole line from a terminal, what was written so far from a pipe. A file (`bridge chat < file`) cannot
    be waited on (epoll refuses files) and never blocks, so it is read directly.
    """

    def __init__(self, out: TextIO, stdin: TextIO = sys.stdin, prompt: str = "> ") -> None:
        self._out = out
        self._fd = stdin.fileno()
        self._prompt = prompt
        self._decoder = codecs.getincrementaldecoder(stdin.encoding or "utf-8")(errors="replace")
        self._pending = ""
        self._ended = False

    async def __call__(self) -> str | None:
        """The next line without its newline; None once the input has ended."""
        self._out.write(self._prompt)
        self._out.flush()
        while "\n" not in self._pending and not self._ended:
            data = await self._read()
            self._ended = not data
            self._pending += self._decoder.decode(data, final=self._ended)
        if not self._pending:
            return None
        line, _, self._pending = self._pending.partition("\n")
        return line

    async def _read(self) -> bytes:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        try:
            loop.add_reader(self._fd, lambda: readable.done() or readable.set_result(None))
        except PermissionError:  # a regular file
            return os.read(self._fd, 65536)
        try:
            await readable
        finally:
            loop.remove_reader(self._fd)
        return os.read(self._fd, 65536)


CONSOLE = Platform(PLATFORM, ConsoleSettings, ConsoleAdapter)
