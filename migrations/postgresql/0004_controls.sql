-- Controls on an answer (issue 13): the OpenWebUI feedback each person gave each answer, so that a second
-- click on 👍/👎 updates that feedback instead of adding another one.
CREATE TABLE feedback (
    platform TEXT NOT NULL,
    assistant_message_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    feedback_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (platform, assistant_message_id, user_id)
);
