"""`python -m bench`: run the streaming benchmark and print its tables.

python -m bench                 # Discord and Slack, N = 1, 10, 50, 200
python -m bench --quick         # N = 1 and 10 with short replies, under a minute
python -m bench --platform discord --n 1 10 --json results.json
python -m bench --platform discord --n 20 50 --hidden-limits   # Discord with limits its headers do not announce
python -m bench --mode signed-in --n 10 50   # turns the web UI's way (signed in, socket), on a real OpenWebUI
python -m bench --n 10 50 --linked   # each N twice: the service account, then every person linked (issue 12)
python -m bench --n 50 --replicas 2  # each N twice on one PostgreSQL: one bridge process, then two (issue 16)
python -m bench --n 50 --replicas 2 --budget-store postgresql redis  # two replicas' runs: budgets on each store
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import platform as host
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import Plan, run
from bench.measure import Figures, figures
from bench.profile import summary
from bench.report import linking_cost, misses, replicas_cost, table, warnings

FULL_N = (1, 10, 50, 200)
QUICK_N = (1, 10)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--platform", nargs="+", choices=("discord", "slack"), default=["discord", "slack"])
    parser.add_argument("--n", nargs="+", type=int, help="conversations at once (default 1 10 50 200)")
    parser.add_argument("--quick", action="store_true", help="N = 1 and 10, short replies: under a minute")
    parser.add_argument("--reply-chars", type=int, help="characters per reply (default 3000; quick 600)")
    parser.add_argument("--rate", type=float, default=30.0, help="upstream tokens per second per reply")
    parser.add_argument("--first-token-delay", type=float, default=0.3, help="upstream seconds before a token")
    parser.add_argument("--cap", type=float, default=360.0, help="seconds a run may wait for its replies at most")
    parser.add_argument("--real-openwebui", action="store_true", help="a real OpenWebUI instead of the stand-in")
    parser.add_argument(
        "--mode",
        choices=("key", "signed-in"),
        default="key",
        help="how turns run: key (pass-through, default) or signed-in (the web UI's way; a real OpenWebUI)",
    )
    parser.add_argument(
        "--hidden-limits",
        action="store_true",
        help="Discord: posts and edits in one channel share a hidden 5 per 5 s that no header announces",
    )
    parser.add_argument(
        "--linked",
        action="store_true",
        help="run each N twice, the second time with every person linked to an OpenWebUI user of their own",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="run each N twice on one real PostgreSQL: one bridge process, then this many sharing the rate budgets",
    )
    parser.add_argument(
        "--budget-store",
        nargs="+",
        choices=("postgresql", "redis"),
        default=["postgresql"],
        help="with --replicas: where the replicas exchange their rate budgets (PostgreSQL, the store, or a real "
        "Redis); several: one replicas' run on each, their round trips side by side",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument("--profile", type=Path, help="record the bridge with py-spy into this folder, summarise")
    return parser


def machine() -> str:
    """The machine the figures come from: cores, memory, CPU model, and the date."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        host.processor(),
    )
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.split("\n")[1]
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{time.strftime('%Y-%m-%d')}, {cores} cores ({cpu}), memory: {' '.join(memory.split()[1:2])} total"


async def _main(args: argparse.Namespace) -> list[Figures]:
    sizes = args.n or (QUICK_N if args.quick else FULL_N)
    chars = args.reply_chars or (600 if args.quick else 3000)
    results: list[Figures] = []
    for name in args.platform:
        for n in sizes:
            for linked, replicas, store in _variants(args):
                profile = None
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    variant = ("-linked" if linked else "") + (f"-x{replicas}" if replicas else "")
                    variant += "-redis" if store == "redis" else ""
                    profile = args.profile.resolve() / f"{name}-{n}{variant}.txt"
                plan = Plan(
                    name,
                    n,
                    chars,
                    args.rate,
                    args.first_token_delay,
                    args.cap,
                    args.real_openwebui,
                    profile,
                    hidden_limits=args.hidden_limits and name == "discord",
                    mode=args.mode,
                    linked=linked,
                    replicas=replicas,
                    budget_store=store,
                )
                began = time.monotonic()
                result = figures(await run(plan))
                print(f"# {name} {result.label}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
                results.append(result)
    return results


def _variants(args: argparse.Namespace) -> list[tuple[bool, int, str]]:
    """(linked, replicas, budget store) of each run of one N: `--linked` adds a linked run, `--replicas` one
    process on PostgreSQL and then that many, once per `--budget-store`."""
    if args.replicas:
        stores = list(dict.fromkeys(args.budget_store))
        return [(False, 1, "postgresql"), *((False, args.replicas, store) for store in stores)]
    return [(False, 0, ""), (True, 0, "")] if args.linked else [(False, 0, "")]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.linked and args.real_openwebui:
        parser.error("--linked links the stand-in's users; it does not run with --real-openwebui")
    if args.replicas is not None and (args.replicas < 2 or args.linked):
        parser.error("--replicas takes 2 or more, and does not run with --linked")
    if args.budget_store != ["postgresql"] and not args.replicas:
        parser.error("--budget-store is for --replicas (one process shares its budgets with nobody)")
    results = asyncio.run(_main(args))
    chars = args.reply_chars or (600 if args.quick else 3000)
    stand_in = "a real OpenWebUI" if args.real_openwebui or args.mode == "signed-in" else "the OpenWebUI stand-in"
    if args.mode == "signed-in":
        stand_in += " (turns signed in, the web UI's way)"
    print(f"Machine: {machine()}")
    hidden = " (Discord: also a hidden shared budget for posts and edits per channel)" if args.hidden_limits else ""
    print(
        f"Each reply: {chars} characters at {args.rate:g} tokens/s after {args.first_token_delay:g} s, "
        f"through {stand_in}; simulators at the platforms' documented limits{hidden}.\n"
    )
    for name in args.platform:
        print(table(name, [f for f in results if f.platform == name]) + "\n")
    for line in linking_cost(results):
        print(line)
    for line in replicas_cost(results):
        print(line)
    for line in warnings(results):
        print(f"warning: {line}")
    missed = misses(results)
    print("\n".join(["Targets missed:", *(f"- {m}" for m in missed)]) if missed else "Every target met.")
    if args.profile:
        for path in sorted(args.profile.glob("*.txt")):
            print("\n" + summary(path))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(f) for f in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
