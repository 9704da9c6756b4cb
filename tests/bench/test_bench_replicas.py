"""`python -m bench --replicas 2`: one bridge process, then two on one real PostgreSQL, measured from the
simulators' records; each message answered once (by one replica), every final text exact, and the figures
of both runs printed side by side with the replicas' budget exchange round trip; with `--budget-store
postgresql redis`, a replicas' run on each store, their round trips side by side."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.__main__ import main
from simulators.postgres_server import RealPostgres
from simulators.redis_server import RealRedis

pytestmark = pytest.mark.slow  # two benchmark runs each (one process, then replicas): 17–30 s


@pytest.mark.parametrize(("platform", "stores"), [("discord", ["postgresql"]), ("slack", ["postgresql", "redis"])])
def test_two_replicas_are_measured_against_one(
    platform: str,
    stores: list[str],
    postgres: RealPostgres,
    redis_server: RealRedis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `postgres` and `redis_server` only make sure the servers can run here (skipped without them, but for CI);
    # the bench starts its own
    output = tmp_path / "figures.json"
    argv = ["--platform", platform, "--n", "3", "--quick", "--replicas", "2", "--cap", "60", "--json", str(output)]
    assert main([*argv, "--budget-store", *stores]) == 0
    printed = capsys.readouterr().out
    runs = {(run["replicas"], run["budget_store"]): run for run in json.loads(output.read_text())}
    assert set(runs) == {(1, "postgresql"), *((2, store) for store in stores)}
    for run in runs.values():
        assert run["n"] == 3 and run["platform"] == platform
        assert run["correct"] == 1.0, "every reply's final text is the upstream's, once (not answered twice)"
        assert run["count_429"] == 0 and not run["timed_out"]
        assert run["updates_mean"] >= 3, "the replies were seen growing"
        median, p99 = run["budget_round_trip"]
        assert 0 < median <= p99 and not math.isnan(p99), "each replica logged its exchanges' round trip"
    for store in stores:
        assert f"{platform} N=3, 2 replicas / 1: 429s 0 / 0, updates per reply" in printed
        assert f"budget exchange on {store} round trip median / p99" in printed
    if "redis" in stores:
        assert "N=3 2 replicas (budgets on Redis)" in printed
    assert "N=3 2 replicas" in printed and "N=3 1 replica" in printed  # both runs in the platform's table
