-- A Stop click that reached a replica which does not run the answer (issue 16): the replica that runs it
-- (`replica`) reads it within half a second, stops the answer as a local click would and writes `result`
-- (`bridge.remote_stops`). Handled rows are deleted by the clicking replica; any row goes after a minute.
CREATE TABLE stop_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    question TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    admin INTEGER NOT NULL,
    replica TEXT NOT NULL,
    requested_at REAL NOT NULL,
    result TEXT
);
CREATE INDEX stop_requests_replica ON stop_requests (replica, id);
