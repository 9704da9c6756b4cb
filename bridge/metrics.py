"""Prometheus metrics of the bridge, in one registry per process (served at `/metrics`).

The engine counts turns, latencies, edits and OpenWebUI errors; adapters count the rate limits
(429s) they meet. Labels are bounded: platform names, statuses and error types, never ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
ROUND_TRIP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns_started = Counter("bridge_turns_started", "Turns started", ["platform"], registry=r)
        self.turns_finished = Counter(
            "bridge_turns_finished", "Turns ended, by outcome", ["platform", "status"], registry=r
        )
        self.first_text = Histogram(
            "bridge_first_text_seconds",
            "From a message to the first text shown",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.turn_duration = Histogram(
            "bridge_turn_duration_seconds",
            "From a message to its final text",
            ["platform"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.edits = Counter(
            "bridge_platform_calls", "Posts and edits sent to a platform", ["platform", "op"], registry=r
        )
        self.rate_limited = Counter("bridge_rate_limited", "429 answers met", ["platform"], registry=r)
        self.openwebui_errors = Counter("bridge_openwebui_errors", "OpenWebUI failures by type", ["type"], registry=r)
        self.stream_events_skipped = Counter(
            "bridge_stream_events_skipped", "Answer stream events skipped as malformed (the answer went on)", registry=r
        )
        self.budget_sync = Histogram(
            "bridge_budget_sync_seconds",
            "One exchange of rate-budget demands with the other replicas (PostgreSQL round trip)",
            buckets=ROUND_TRIP_BUCKETS,
            registry=r,
        )
        self.active = Gauge("bridge_active_conversations", "Conversations with a turn running or queued", registry=r)
        self.replica = Info("bridge_replica", "This process among the replicas (BRIDGE_REPLICA_ID)", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS = Metrics()
