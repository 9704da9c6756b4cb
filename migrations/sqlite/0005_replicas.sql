-- Several replicas on one database (issue 16): which bridge processes are alive, and whose turn it is in
-- each conversation, so that a conversation's messages are answered one at a time in arrival order
-- whichever replica received them (`bridge.conversation_order`).

-- A bridge process, by `BRIDGE_REPLICA_ID`. `seen_at` is its heartbeat, written while it waits for or runs a
-- turn: a replica not seen for `BRIDGE_LEASE_SECONDS` is dead, and nothing of it blocks anyone.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    seen_at REAL NOT NULL
);

-- Messages waiting for (or having) their conversation's turn, in arrival order (`id`). A replica's entry
-- goes first when it is the oldest entry of a live replica in its conversation.
CREATE TABLE conversation_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    event_id TEXT NOT NULL,
    replica TEXT NOT NULL,
    arrived_at REAL NOT NULL
);
CREATE INDEX conversation_queue_conversation ON conversation_queue (conversation, id);

-- The conversation's turn, held by one queue entry until it ends or `expires_at` passes (renewed with the
-- holder's heartbeat).
CREATE TABLE conversation_leases (
    conversation TEXT PRIMARY KEY,
    replica TEXT NOT NULL,
    entry INTEGER NOT NULL,
    expires_at REAL NOT NULL
);

-- Which replica runs (or ran) a turn: an open turn of a dead replica is closed as interrupted by another.
ALTER TABLE turns ADD COLUMN replica TEXT NOT NULL DEFAULT '';
