"""The `bridge` command: run, chat, demo, migrate, check.

Every expected failure (a wrong setting, OpenWebUI unreachable, a wrong key, an unknown model, a
database newer than the code) ends with one line naming the problem and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

from bridge.app import Core, make_client, open_core
from bridge.demo import DemoError, demo_settings
from bridge.engine import UserFacingError
from bridge.logs import setup_logging
from bridge.openwebui import errors
from bridge.runner import serve
from bridge.settings import ConfigError, Settings, load_settings
from bridge.store import SchemaError, Store, StoreError

NO_ADAPTER = (
    "No platform is configured. Set DISCORD_BOT_TOKEN for Discord, or SLACK_BOT_TOKEN (and SLACK_APP_TOKEN "
    "for Socket Mode) for Slack, in the environment or .env; see README. To try the bridge in a terminal "
    "first: bridge chat"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bridge", description="OpenWebUI in Discord, Slack and the terminal.")
    parser.add_argument("--env-file", default=".env", help="settings file read after the environment (.env)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start every configured platform adapter")
    chat = commands.add_parser("chat", help="chat with OpenWebUI from this terminal")
    chat.add_argument("--model", help="model to use (kept for this terminal's conversation)")
    demo = commands.add_parser(
        "demo", help="bridge chat against a local OpenWebUI with a stand-in model (or yours, when OPENWEBUI_URL is set)"
    )
    demo.set_defaults(model=None)
    commands.add_parser("migrate", help="create or upgrade the database, then exit")
    commands.add_parser("check", help="check the OpenWebUI connection, key, models and platform settings")
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.env_file, require_api_key=args.command not in ("migrate", "demo"))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [
        s.get_secret_value()
        for s in (
            settings.openwebui.api_key,
            settings.discord.bot_token,
            settings.slack.bot_token,
            settings.slack.app_token,
            settings.slack.signing_secret,
        )
    ]
    setup_logging(settings.bridge.log_level if args.command == "run" else "WARNING", settings.bridge.log_json, secrets)
    command: Callable[[Settings, argparse.Namespace], Awaitable[int]] = {
        "run": _run,
        "chat": _chat,
        "demo": _chat,
        "migrate": _migrate,
        "check": _check,
    }[args.command]
    try:
        with ExitStack() as demo_openwebui:
            if args.command == "demo":  # started and stopped outside the event loop, so Ctrl-C stops it at any time
                settings = demo_openwebui.enter_context(demo_settings(settings))
            return asyncio.run(command(settings, args))
    except KeyboardInterrupt:
        return 130
    except DemoError as exc:
        print(f"bridge demo: {exc}", file=sys.stderr)
        return 1
    except (SchemaError, StoreError) as exc:
        print(f"database error ({settings.bridge.database}): {exc}", file=sys.stderr)
        return 1
    except errors.OpenWebUIError as exc:
        print(f"OpenWebUI error: {exc} — {exc.hint}", file=sys.stderr)
        return 1
    except UserFacingError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ConfigError as exc:  # found by an adapter at start, e.g. a token the platform refuses
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    store = await Store.open(settings.bridge.database)
    await store.close()
    print(f"database ready: {settings.bridge.database}")
    return 0


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.console import ConsoleChat

    async with open_core(settings) as core:
        await ConsoleChat(core.engine, model=args.model).run()
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    runners = _adapters(settings)
    if not runners:
        print(NO_ADAPTER, file=sys.stderr)
        return 1
    async with open_core(settings) as core:
        await serve(core, runners)
    return 0


def _adapters(settings: Settings) -> dict[str, Callable[[Core], Awaitable[None]]]:
    """The configured platforms' entry points by name, imported only when configured."""
    runners: dict[str, Callable[[Core], Awaitable[None]]] = {}
    if settings.discord.enabled:
        from adapters.discord import run_discord

        runners["discord"] = run_discord
    if settings.slack.enabled:
        from adapters.slack import run_slack

        runners["slack"] = run_slack
    return runners


async def _check(settings: Settings, args: argparse.Namespace) -> int:
    ok = True
    async with make_client(settings) as client:
        print(f"OpenWebUI: {client.base_url}")
        try:
            await client.health()
            print(f"  reachable, version {await client.version() or '?'}")
            models = await client.models()
            print(f"  API key accepted; {len(models)} model(s): {', '.join(m.id for m in models) or 'none'}")
            default = settings.openwebui.default_model
            if default and default not in {m.id for m in models}:
                print(f"  OPENWEBUI_DEFAULT_MODEL: `{default}` is not one of these models")
                ok = False
            elif not models:
                print("  no models: add a connection or share a model with the key's user")
                ok = False
        except errors.OpenWebUIError as exc:
            print(f"  FAILED: {exc}\n  {exc.hint}")
            ok = False
    print(f"Database: {settings.bridge.database}")
    for name, section in (("Discord", settings.discord), ("Slack", settings.slack)):
        if not section.enabled:
            print(f"{name}: not configured")
            continue
        print(f"{name}: configured")
        for field, value in section:
            if field in ("bot_token", "app_token", "signing_secret"):
                value = "set" if value.get_secret_value() else "not set"
            print(f"  {type(section).model_config.get('env_prefix', '')}{field.upper()} = {value}")
    if not settings.discord.enabled and not settings.slack.enabled:
        print(NO_ADAPTER)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
