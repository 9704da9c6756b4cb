-- The bridge's state: which OpenWebUI chat each platform conversation is, and what a turn needs.

-- A platform conversation (platform, workspace, channel, thread) mapped to an OpenWebUI chat.
-- `/new` archives the active row; only one active row per conversation key.
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    archived_at REAL
);
CREATE UNIQUE INDEX conversations_active ON conversations (platform, workspace, channel, thread)
    WHERE archived_at IS NULL;
CREATE INDEX conversations_chat ON conversations (chat_id);

-- One user message and its answer. `state` lets a restart find turns a crash left in progress.
CREATE TABLE turns (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    event_id TEXT NOT NULL,
    user_message_id TEXT NOT NULL,
    assistant_message_id TEXT NOT NULL,
    parent_message_id TEXT,
    model TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('streaming', 'done', 'failed', 'interrupted')),
    platform_message_ids TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX turns_conversation ON turns (conversation_id);
CREATE INDEX turns_open ON turns (state) WHERE state = 'streaming';

-- Model and system prompt for a scope: a whole workspace (channel = ''), a channel (thread = ''),
-- or one thread. A thread inherits from its channel, a channel from its workspace.
CREATE TABLE scope_settings (
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    model TEXT,
    system_prompt TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (platform, workspace, channel, thread)
);

-- Platform event ids already taken, so a redelivered event never gets a second answer.
CREATE TABLE processed_events (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (platform, event_id)
);

-- Files uploaded to OpenWebUI for a conversation; every later turn of it searches them.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    file_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX files_conversation ON files (conversation_id);
