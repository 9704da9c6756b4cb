"""`bridge chat`: the smallest adapter, and the check of a user's OpenWebUI setup before Discord or Slack.

The terminal is one conversation (it continues across runs until `/new`), kept as an OpenWebUI chat
like any thread. A reply "edit" appends what is new to the screen, so the answer streams as it comes.
"""

from __future__ import annotations

import asyncio
import codecs
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TextIO

from bridge.engine import Engine, UserFacingError
from bridge.messages import ConversationKey, IncomingMessage
from bridge.openwebui import errors
from bridge.surface import Operation, Source, SurfaceLimits

HELP = """commands: /new (start a new chat)  /model [name] (show or set the model)  /models  /help  /quit"""


class ConsoleSurface:
    """A reply on a terminal: posting prints, editing prints the part of the text that is new."""

    limits = SurfaceLimits(max_chars=100_000, min_edit_interval=0.05)

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._shown: dict[str, str] = {}

    async def show_progress(self) -> None:
        self._write("… ")

    async def pace(self, op: Operation, final: bool) -> None:
        return None

    async def post(self, text: str) -> str:
        message_id = str(len(self._shown) + 1)
        self._write(("\n" if self._shown else "\r") + text)
        self._shown[message_id] = text
        return message_id

    async def edit(self, message_id: str, text: str) -> None:
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


class ConsoleChat:
    """Reads lines, answers them through the engine; `/` lines are commands."""

    def __init__(
        self,
        engine: Engine,
        *,
        read_line: Callable[[], Awaitable[str | None]] | None = None,
        out: TextIO = sys.stdout,
        model: str | None = None,
        user: str | None = None,
    ) -> None:
        self.engine = engine
        self.out = out
        self.model = model
        self.read_line = read_line or StdinLines(out)
        user = user or getpass.getuser()
        self.key = ConversationKey("console", "local", user)

    async def run(self) -> None:
        if self.model:
            await self._set_model(self.model)
        model, _ = await self.engine.effective_settings(self.key)
        self._print(f"Chatting with {model or 'OpenWebUI'}. {HELP}")
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
            outcome = await self.engine.handle(message, ConsoleSurface(self.out))
            self._print("")
            if outcome.status == "answered" and outcome.chat_id:
                _, link = await self.engine.chat_link(self.key)
                self._print(f"[{link}]")

    async def _command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        try:
            if name == "/new":
                await self.engine.new_conversation(self.key)
                self._print("The next message starts a new chat.")
            elif name == "/models":
                models = await self.engine.models(refresh=True)
                self._print("\n".join(f"  {m.id}" + (f"  ({m.name})" if m.name != m.id else "") for m in models))
            elif name == "/model":
                if arg:
                    await self._set_model(arg)
                else:
                    model, _ = await self.engine.effective_settings(self.key)
                    self._print(f"Model: {model}")
            else:
                self._print(HELP)
        except UserFacingError as exc:
            self._print(str(exc))
        except errors.OpenWebUIError as exc:
            self._print(exc.hint)

    async def _set_model(self, name: str) -> None:
        model = await self.engine.set_model(self.key, name)
        self._print(f"Model set to {model.id}.")

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
