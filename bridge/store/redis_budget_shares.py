"""The replicas' rate-budget rows on Redis (`BRIDGE_BUDGET_URL=redis://...`): the same exchange as the
`budget_shares` table on PostgreSQL (`bridge.store.budget_shares`), for operators who keep their fast shared
state there.

Each budget is one hash (`bridge:budget-shares:<budget>`), one field per replica: "demand share seen_at". Two
Lua scripts make an exchange, each atomic on the server: the first takes the exchange lock (SET NX PX) and
reads the other replicas' live rows; the board decides in Python; the second writes this replica's rows and
releases the lock, but only if it still holds it (a replica stalled past the lock's expiry writes nothing, as
another may have read since). So replicas exchange one at a time, as under PostgreSQL's advisory lock. Time is
the server's clock (`TIME` inside the scripts), so replicas whose machines' clocks differ agree on which rows
are live. A hash nobody writes to for `FORGET_AFTER` seconds expires by itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping

import redis.asyncio as redis
from redis.exceptions import RedisError

from bridge.shared_budgets import Row, Seen
from bridge.store.backends import redact
from bridge.store.budget_shares import FORGET_AFTER

PREFIX = "bridge:budget-shares:"
LOCK_KEY = PREFIX + "lock"
LOCK_MS = 2000
"""How long the exchange lock lasts if its holder never releases it (it died between the two scripts)."""
BUSY_POLL = 0.001
"""Seconds between two tries for the lock while another replica exchanges (an exchange takes about a ms)."""

# KEYS[1]: the lock; KEYS[2..]: one hash per budget. ARGV: token, lock ms, replica, ttl s, forget s.
# Returns false while another replica holds the lock; else the live rows of the others, flat:
# budget index (1-based, in KEYS[2..]), replica, "demand share seen_at", ... Rows long dead are deleted.
_READ = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl, forget = tonumber(ARGV[4]), tonumber(ARGV[5])
local found = {}
for i = 2, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  for j = 1, #fields, 2 do
    local replica, value = fields[j], fields[j + 1]
    local age = now - tonumber(string.match(value, '(%S+)$'))
    if age > forget then
      redis.call('HDEL', KEYS[i], replica)
    elseif replica ~= ARGV[3] and age <= ttl then
      table.insert(found, i - 1)
      table.insert(found, replica)
      table.insert(found, value)
    end
  end
end
return found
"""

# KEYS[1]: the lock; KEYS[2..]: one hash per budget. ARGV: token, replica, forget ms, then demand and share
# per budget. Writes only while the token still holds the lock; returns 1 if it wrote, else 0.
_WRITE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = string.format('%d.%06d', tonumber(t[1]), tonumber(t[2]))
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], ARGV[2], ARGV[2 * i] .. ' ' .. ARGV[2 * i + 1] .. ' ' .. now)
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
redis.call('DEL', KEYS[1])
return 1
"""


class RedisBudgetShares:
    """`bridge.shared_budgets.BudgetShares` on Redis, through redis-py's asyncio client (it reconnects by
    itself after a lost connection)."""

    kind = "redis"

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = connect_timeout
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=connect_timeout, decode_responses=True
        )
        self._read = self._client.register_script(_READ)
        self._write = self._client.register_script(_WRITE)
        self._written: set[str] = set()  # the budgets this replica has rows in (what `withdraw` removes)

    async def exchange(
        self, replica: str, names: list[str], ttl: float, decide: Callable[[Seen], Mapping[str, Row]]
    ) -> None:
        """Take the lock and read the others' live rows; write this replica's as `decide` makes them."""
        keys = [LOCK_KEY, *(PREFIX + name for name in names)]
        token = uuid.uuid4().hex
        try:
            found = await self._locked_read(keys, token, replica, ttl)
            seen: Seen = {}
            for index, other, value in zip(found[::3], found[1::3], found[2::3], strict=True):
                demand, share, _ = value.split(" ")
                seen.setdefault(names[int(index) - 1], {})[other] = Row(float(demand), float(share))
            mine = decide(seen)
            args = [token, replica, int(FORGET_AFTER * 1000)]
            args += [value for name in names for value in (repr(mine[name].demand), repr(mine[name].share))]
            if not await self._write(keys=keys, args=args):
                raise ConnectionError(f"Redis at {redact(self._url)}: the exchange outlasted its lock; not written")
            self._written.update(names)
        except (RedisError, OSError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConnectionError(f"Redis at {redact(self._url)}: {reason}") from exc

    async def _locked_read(self, keys: list[str], token: str, replica: str, ttl: float) -> list[str]:
        """The read script's rows, once this replica holds the lock; waits while another exchanges."""
        deadline = time.monotonic() + max(self._timeout, 2 * LOCK_MS / 1000)
        while True:
            found = await self._read(keys=keys, args=[token, LOCK_MS, replica, ttl, FORGET_AFTER])
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise ConnectionError(f"Redis at {redact(self._url)}: the exchange lock stayed taken")
            await asyncio.sleep(BUSY_POLL)

    async def withdraw(self, replica: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            for name in self._written:
                pipe.hdel(PREFIX + name, replica)
            await pipe.execute()
        self._written.clear()

    async def close(self) -> None:
        await self._client.aclose()
