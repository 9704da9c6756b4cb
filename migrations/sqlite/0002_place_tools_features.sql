-- Tools and features an admin switched on or off for a scope (`/tools`, `/features`), each a JSON object
-- {id: true|false}; NULL: nothing chosen there. A thread's choices win over its channel's, a channel's over
-- its workspace's, one id at a time; what no scope names follows the model's defaults in OpenWebUI.
ALTER TABLE scope_settings ADD COLUMN tools TEXT;
ALTER TABLE scope_settings ADD COLUMN features TEXT;
