"""Builds the process's one OpenWebUI client, store, catalog and engine from settings, and closes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bridge.catalog import Catalog
from bridge.core import Core
from bridge.engine import Engine
from bridge.identity.by_email import EmailSignIn
from bridge.identity.linking import Identities
from bridge.identity.vault import KeyVault
from bridge.intake import FileIntake
from bridge.openwebui import OpenWebUIClient
from bridge.settings import Settings
from bridge.shared_budgets import BudgetShares, SharedBudgets
from bridge.store import Store
from bridge.store.backends import is_server_url
from bridge.store.budget_shares import PostgresBudgetShares
from bridge.store.identities import IdentityStore
from bridge.store.redis_budget_shares import RedisBudgetShares
from bridge.turn_paths import completion_path


@dataclass(slots=True)
class App:
    """The process's parts. The runner and the CLI use them; adapters get only `core`."""

    settings: Settings
    client: OpenWebUIClient
    store: Store
    catalog: Catalog
    engine: Engine
    core: Core


def make_client(settings: Settings) -> OpenWebUIClient:
    ow = settings.openwebui
    return OpenWebUIClient(
        ow.url,
        ow.api_key.get_secret_value(),
        connect_timeout=ow.connect_timeout,
        idle_timeout=ow.idle_timeout,
        request_timeout=ow.request_timeout,
    )


def build(settings: Settings, client: OpenWebUIClient, store: Store) -> App:
    """The catalog, engine and facade over an open client and store."""
    intake = FileIntake(client, settings.bridge.max_file_bytes, settings.openwebui.file_process_timeout)
    catalog = Catalog(
        client,
        store,
        intake,
        default_model=settings.openwebui.default_model,
        system_prompt=settings.bridge.system_prompt,
    )
    engine = Engine(
        client,
        store,
        catalog,
        max_answer_chars=settings.bridge.max_answer_chars,
        max_turn_seconds=settings.bridge.max_turn_seconds,
        path=completion_path(settings.openwebui, client),
        replica=settings.bridge.replica_id,
        lease_seconds=settings.bridge.lease_seconds,
    )
    identities = make_identities(settings, client, store)
    return App(settings, client, store, catalog, engine, Core(engine, catalog, identities, make_budgets(settings)))


def make_budgets(settings: Settings) -> SharedBudgets:
    """Rate budgets shared with the other replicas through Redis (`BRIDGE_BUDGET_URL`) or else the PostgreSQL
    store; on SQLite without Redis (one process) every budget stays whole."""
    bridge = settings.bridge
    database = bridge.database
    redis_url = bridge.budget_url.get_secret_value()
    shares: BudgetShares | None = None
    if redis_url:
        shares = RedisBudgetShares(redis_url)
    elif isinstance(database, str) and is_server_url(database):
        shares = PostgresBudgetShares(database)
    return SharedBudgets(shares, interval=bridge.budget_sync_interval, ttl=bridge.budget_ttl, replica=bridge.replica_id)


def make_identities(settings: Settings, client: OpenWebUIClient, store: Store) -> Identities | None:
    """Linked accounts when the policy lets people link (`load_settings` made sure a key is set), and the
    sign-in by email where the operator turned it on (and named OpenWebUI's trusted header)."""
    identity = settings.identity
    if not identity.linking:
        return None
    vault = KeyVault(identity.encryption_key.get_secret_value(), identity.old_keys)
    header = settings.openwebui.trusted_email_header.strip()
    by_email = EmailSignIn(client, header) if identity.link_by_email and header else None
    return Identities(IdentityStore(store), vault, client, identity.identity_policy, by_email)


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[App]:
    """The process's parts, closed on exit."""
    store = await Store.open(settings.bridge.database)
    client = make_client(settings)
    app = build(settings, client, store)
    try:
        yield app
    finally:
        # what runs after answers (titles, follow-ups) ends before the client it uses closes
        await app.engine.background.drain(settings.bridge.shutdown_grace)
        await app.engine.path.aclose()  # the signed-in session's socket, if any
        await app.engine.order.close()  # other replicas need not wait for this one's leases to expire
        await client.aclose()
        await store.close()
