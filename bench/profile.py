"""Read py-spy's collapsed stacks (`--format raw`): where the bridge spent its CPU, as two short lists.

Self time says which function burns the CPU; inclusive time, listed for the project's own frames only
(`bridge/`, `adapters/`), says which of its paths lead there (each frame once per sample). Samples whose
innermost frame is a wait (the event loop's `select`, idle worker threads) are counted apart as idle.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    """(frames root first, samples) per line of a collapsed-stack file."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


_IDLE = ("EpollSelector.select", "Condition.wait", "_worker (concurrent/futures/thread.py")
_PROJECT = ("(bridge/", "(adapters/")


def summary(path: Path, top: int = 12) -> str:
    """The `top` busy frames by self samples and the project's by inclusive ones, as shares of busy samples."""
    stacks = [(frames, count) for frames, count in load(path) if not frames[-1].startswith(_IDLE)]
    idle = sum(count for _, count in load(path)) - sum(count for _, count in stacks)
    total = sum(count for _, count in stacks)
    if not total:
        return f"{path}: no busy samples"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            if any(marker in frame for marker in _PROJECT):
                inclusive[frame] += count
    lines = [f"{path.name}: {total} busy samples ({idle} idle left out)", "  self:"]
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines.append("  inclusive (project frames):")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)
