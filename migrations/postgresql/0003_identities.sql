-- Each person as themselves in OpenWebUI (issue 12).

-- A platform user linked to an OpenWebUI account. The API key is stored only encrypted (Fernet, with
-- BRIDGE_ENCRYPTION_KEY): without that key the table is useless. `refused_at` is set when OpenWebUI last
-- refused the key (deleted or expired), cleared by linking again.
CREATE TABLE identities (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key_ciphertext TEXT NOT NULL,
    owui_user_id TEXT NOT NULL,
    owui_name TEXT NOT NULL,
    owui_email TEXT NOT NULL DEFAULT '',
    linked_at DOUBLE PRECISION NOT NULL,
    refused_at DOUBLE PRECISION,
    PRIMARY KEY (platform, user_id)
);

-- Whose OpenWebUI account a chat the bridge made belongs to: the platform user who started the
-- conversation, and their OpenWebUI user id ('' for the bridge's service account). A chat without a row
-- here was made with the service account.
CREATE TABLE chat_owners (
    chat_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    owui_user_id TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
