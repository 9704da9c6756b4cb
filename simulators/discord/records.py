"""Every HTTP call the bot made, with times, so tests and the benchmark can replay what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One request and the simulator's answer.

    ``route`` is discord.py's route key, e.g. ``PATCH /channels/{channel_id}/messages/{message_id}``;
    ``params`` are the path values (``{"channel_id": "123", ...}``). ``body`` is the JSON body, or for
    multipart ``{"payload_json": ..., "files": [{"filename": ..., "size": ...}]}``.
    ``at_monotonic`` is when the request arrived (``time.monotonic()`` of this process).
    """

    seq: int
    at_monotonic: float
    at_wall: float
    method: str
    route: str
    path: str
    params: dict[str, str]
    body: Any
    status: int
    error_code: int | None
    bucket: str | None

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    def param(self, name: str) -> int | None:
        """A path id as an int (None when absent or not numeric, e.g. ``@original``)."""
        value = self.params.get(name)
        return int(value) if value is not None and value.isdigit() else None


class CallLog:
    """Append-only list of :class:`CallRecord` with the counters tests ask about."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def add(self, record: CallRecord) -> None:
        self.records.append(record)

    def next_seq(self) -> int:
        return len(self.records) + 1

    def select(
        self,
        route: str | None = None,
        *,
        method: str | None = None,
        status: int | None = None,
        channel_id: int | None = None,
        since: float | None = None,
    ) -> list[CallRecord]:
        """Records matching every given filter; ``route`` may be the full key or just its path part."""
        found = []
        for record in self.records:
            if route is not None and route not in (record.route, record.route.split(" ", 1)[1]):
                continue
            if method is not None and record.method != method.upper():
                continue
            if status is not None and record.status != status:
                continue
            if channel_id is not None and record.param("channel_id") != channel_id:
                continue
            if since is not None and record.at_monotonic < since:
                continue
            found.append(record)
        return found
