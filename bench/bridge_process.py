"""The bridge as a process of its own (`python -m bridge run`), so its CPU time and memory are its alone.

Settings go in through the environment only: the process runs in an empty folder (no `.env` is read)
and inherits none of the caller's `OPENWEBUI_*`, `BRIDGE_*`, `DISCORD_*` or `SLACK_*` variables. `--replicas`
runs several (`BridgeReplicas`) on one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from simulators.processes import environ_without_settings

REPO = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used (`/proc/PID/stat` utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class BridgeProcess:
    """Start, watch and stop one bridge process; its output goes to `folder/bridge.log`."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.log_path = folder / "bridge.log"
        self._env = environ_without_settings()
        self._env.update(env)
        self._env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self._env.get("PYTHONPATH", "")]))
        self._env.setdefault("BRIDGE_DATA_DIR", str(folder / "data"))
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the bridge is not started"
        return self._process.pid

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bridge", "run", cwd=self.folder, env=self._env, stdout=log, stderr=log
            )

    def check_alive(self) -> None:
        """Raise with the log's tail if the bridge has exited."""
        if self._process is not None and self._process.returncode is not None:
            raise RuntimeError(f"the bridge exited with code {self._process.returncode}:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory (`VmHWM`), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the bridge drains and exits), SIGKILL when it takes longer than `timeout`."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.asynccontextmanager
async def profiled(pid: int, output: Path | None) -> AsyncIterator[None]:
    """py-spy attached to `pid` for the block (nothing when `output` is None); collapsed stacks to `output`.

    Attaching by pid, rather than starting the bridge under py-spy, leaves start-up out of the profile.
    """
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "100", "-o", str(output)]
    spy_process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        yield
    finally:
        spy_process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(spy_process.wait(), 30)
        except TimeoutError:
            spy_process.kill()
            await spy_process.wait()


class BridgeReplicas:
    """Several bridge processes on one database, started, watched and stopped together (`--replicas`), each in
    a folder of its own (`folder/replica-N`). Their CPU time is summed, their peak memory is the largest."""

    def __init__(self, folder: Path, env: dict[str, str], count: int) -> None:
        self.processes = []
        for index in range(count):
            own = folder / f"replica-{index}"
            own.mkdir(parents=True, exist_ok=True)
            self.processes.append(BridgeProcess(own, env))

    @property
    def pid(self) -> int:
        """The first replica's (the one `--profile` records)."""
        return self.processes[0].pid

    async def start(self) -> None:
        for process in self.processes:
            await process.start()

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def cpu_seconds(self) -> float:
        return sum(process.cpu_seconds() for process in self.processes)

    def peak_rss_mb(self) -> float:
        return max(process.peak_rss_mb() for process in self.processes)

    async def stop(self, timeout: float = 15.0) -> None:
        await asyncio.gather(*(process.stop(timeout) for process in self.processes))

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"[replica {i}]\n{p.log_tail(lines)}" for i, p in enumerate(self.processes))

    def budget_round_trips(self) -> list[tuple[float, float]]:
        """Each replica's (median, p99) round trip of its budget exchanges in ms, from the line its log ends with."""
        return [(float(match.group(2)), float(match.group(3))) for match in self._board_lines()]

    def budget_stores(self) -> list[str]:
        """Where each replica says, in that same line, it exchanged its budgets ("postgresql", "redis")."""
        return [match.group(1) for match in self._board_lines()]

    def _board_lines(self) -> list[re.Match[str]]:
        texts = (p.log_path.read_text(errors="replace") for p in self.processes if p.log_path.exists())
        return [match for match in map(_ROUND_TRIP.search, texts) if match]


_ROUND_TRIP = re.compile(r"budget board on (\w+): \d+ exchanges, round trip median ([\d.]+) ms, p99 ([\d.]+) ms")
