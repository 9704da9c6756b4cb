"""Failures a test orders from a simulator: the next N calls of a route answered with a status.

A platform under load answers 429 storms and 5xx; the simulators answer honestly by default, and a test
asks for a storm explicitly (`sim.faults.add(...)`), so normal operation and faults stay apart in every
count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    target: str  # a Discord route key ("PATCH /channels/{channel_id}/messages/{message_id}") or a Slack method
    status: int  # 429, or a 5xx
    remaining: int
    retry_after: float = 1.0


class FaultPlan:
    """The faults still to serve, in the order they were ordered; `served` counts what was served."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.served: list[Fault] = []

    def add(self, target: str, status: int, count: int = 1, retry_after: float = 1.0) -> None:
        self._faults.append(Fault(target, status, count, retry_after))

    def take(self, target: str) -> Fault | None:
        """The fault to answer this call of `target` with, if one is ordered."""
        for fault in self._faults:
            if fault.target == target and fault.remaining > 0:
                fault.remaining -= 1
                self.served.append(fault)
                return fault
        return None
