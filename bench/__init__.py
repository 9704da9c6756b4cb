"""The streaming benchmark: the bridge as a separate process against the Discord and Slack simulators.

`python -m bench` (see `bench/__main__.py`) starts a model upstream, an OpenWebUI stand-in and one
simulated platform in this process, the bridge in its own process, drives N conversations at once and
prints latency, freshness, fairness, rate-limit, correctness and cost figures next to issue 5's targets.
"""
