"""A stand-in web search engine answering as SearXNG does, for OpenWebUI's web search in tests.

OpenWebUI 0.12.4 queries SearXNG with `GET <SEARXNG_QUERY_URL>?q=<query>&format=json&…` and reads
`results[].url`, `.title`, `.content` (`retrieval/web/searxng.py`), sorted by `score`. Point it here with
the admin API (`POST /api/v1/retrieval/config/update`, `web.WEB_SEARCH_ENGINE = "searxng"`,
`web.SEARXNG_QUERY_URL = engine.query_url`). Every query gets the pages a test registered, so what the
model is given is known; the queries are kept for the test to read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web

from simulators.threaded import serve_in_thread, serve_on_loopback


@dataclass(frozen=True)
class Page:
    """One search result: its address, title and the snippet OpenWebUI uses as its text."""

    url: str
    title: str
    content: str


class SearchEngine:
    """`with SearchEngine().running_in_thread() as engine:`; `engine.pages` are every query's results."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.queries: list[str] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def query_url(self) -> str:
        """What OpenWebUI's `SEARXNG_QUERY_URL` is set to."""
        if self._port is None:
            raise RuntimeError("SearchEngine is not started")
        return f"http://127.0.0.1:{self._port}/search"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/search", self._search)
        self._runner, self._port = await serve_on_loopback(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[SearchEngine]:
        with serve_in_thread(self.start, self.stop):
            yield self

    async def _search(self, request: web.Request) -> web.Response:
        if request.query.get("format") != "json":
            return web.Response(status=403, text="only format=json is served")  # as SearXNG without json enabled
        query = request.query.get("q", "")
        self.queries.append(query)
        results = [
            {"url": page.url, "title": page.title, "content": page.content, "score": len(self.pages) - rank}
            for rank, page in enumerate(self.pages)
        ]
        return web.json_response({"query": query, "number_of_results": len(results), "results": results})
