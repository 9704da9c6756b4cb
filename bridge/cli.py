"""The `bridge` command: run, chat, demo, migrate, check.

Every expected failure (a wrong setting, OpenWebUI unreachable, a wrong key, an unknown model, a
database newer than the code) ends with one line naming the problem and a non-zero exit, never a
traceback. Platforms come from the adapter registry (`bridge.adapter.platforms`), so this file names none.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

from pydantic import SecretStr

from bridge.adapter import Adapter, Platform, platforms
from bridge.app import App, make_client, open_app
from bridge.demo import DemoError, demo_settings
from bridge.errors import UserFacingError
from bridge.identity.rotation import new_key, rotate_keys
from bridge.logs import setup_logging
from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui.signin import ServiceSession
from bridge.runner import serve
from bridge.settings import ConfigError, Settings, load_settings
from bridge.store import SchemaError, Store, StoreError

NO_ADAPTER = (
    "No platform is configured. Set DISCORD_BOT_TOKEN for Discord, or SLACK_BOT_TOKEN (and SLACK_APP_TOKEN "
    "for Socket Mode) for Slack, in the environment or .env; see README. To try the bridge in a terminal "
    "first: bridge chat"
)
CONSOLE = "console"

Command = Callable[[Settings, argparse.Namespace, dict[str, Platform]], Awaitable[int]]


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
    commands.add_parser("make-key", help="print a new BRIDGE_ENCRYPTION_KEY (for linked OpenWebUI keys)")
    commands.add_parser("rotate-key", help="re-encrypt linked keys with BRIDGE_ENCRYPTION_KEY (see README)")
    args = parser.parse_args(argv)
    if args.command == "make-key":
        print(new_key())
        return 0

    known = platforms()
    try:
        settings = load_settings(
            args.env_file,
            require_api_key=args.command not in ("migrate", "demo", "rotate-key"),
            platforms={name: platform.settings for name, platform in known.items()},
        )
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    level = settings.bridge.log_level if args.command == "run" else "WARNING"
    setup_logging(level, settings.bridge.log_json, settings.secrets())
    command: Command = {
        "run": _run,
        "chat": _chat,
        "demo": _chat,
        "migrate": _migrate,
        "check": _check,
        "rotate-key": _rotate_key,
    }[args.command]
    try:
        with ExitStack() as demo_openwebui:
            if args.command == "demo":  # started and stopped outside the event loop, so Ctrl-C stops it at any time
                settings = demo_openwebui.enter_context(demo_settings(settings))
            return asyncio.run(command(settings, args, known))
    except KeyboardInterrupt:
        return 130
    except DemoError as exc:
        print(f"bridge demo: {exc}", file=sys.stderr)
        return 1
    except (SchemaError, StoreError) as exc:
        print(f"database error ({settings.bridge.database_label}): {exc}", file=sys.stderr)
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


async def _migrate(settings: Settings, args: argparse.Namespace, known: dict[str, Platform]) -> int:
    store = await Store.open(settings.bridge.database)
    await store.close()
    print(f"database ready: {settings.bridge.database_label}")
    return 0


async def _rotate_key(settings: Settings, args: argparse.Namespace, known: dict[str, Platform]) -> int:
    print(await rotate_keys(settings))
    return 0


def _create(app: App, platform: Platform) -> Adapter:
    return platform.create(app.core, app.settings.platforms[platform.name])


async def _chat(settings: Settings, args: argparse.Namespace, known: dict[str, Platform]) -> int:
    console = known.get(CONSOLE)
    if console is None:
        raise UserFacingError("The console adapter is not installed; reinstall the bridge (pip install -e .).")
    if args.model:
        section = settings.platforms[CONSOLE]
        settings.platforms[CONSOLE] = section.model_copy(update={"model": args.model})
    async with open_app(settings) as app:
        await serve(app, {CONSOLE: _create(app, console)}, health=False)
    return 0


async def _run(settings: Settings, args: argparse.Namespace, known: dict[str, Platform]) -> int:
    enabled = [platform for name, platform in known.items() if settings.platforms[name].enabled]
    if not enabled:
        print(NO_ADAPTER, file=sys.stderr)
        return 1
    async with open_app(settings) as app:
        await serve(app, {platform.name: _create(app, platform) for platform in enabled})
    return 0


async def _check(settings: Settings, args: argparse.Namespace, known: dict[str, Platform]) -> int:
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
        ok = await _check_sign_in(settings, client) and ok
    print(f"Database: {settings.bridge.database_label}")
    services = {name: section for name, section in settings.platforms.items() if name != CONSOLE}
    for name, section in services.items():
        if not section.enabled:
            print(f"{name.capitalize()}: not configured")
            continue
        print(f"{name.capitalize()}: configured")
        for field, value in section:
            shown = ("set" if value.get_secret_value() else "not set") if isinstance(value, SecretStr) else value
            print(f"  {section.variable(field)} = {shown}")
    if not any(section.enabled for section in services.values()):
        print(NO_ADAPTER)
    return 0 if ok else 1


async def _check_sign_in(settings: Settings, client: OpenWebUIClient) -> bool:
    """Which way turns run (README "Two ways to run a turn"); with a sign-in, whether OpenWebUI accepts it."""
    if not settings.openwebui.signs_in:
        print("  turns: pass-through (API key only; OPENWEBUI_EMAIL not set)")
        return True
    try:
        await ServiceSession(client, settings.openwebui.email, settings.openwebui.password.get_secret_value()).token()
    except errors.OpenWebUIError as exc:
        print(f"  sign-in FAILED: {exc.hint}")
        return False
    print(f"  signed in as {settings.openwebui.email}; turns run the web UI's way (OpenWebUI's whole pipeline)")
    return True


if __name__ == "__main__":
    sys.exit(main())
