-- The review console: the e-mail each job answers (reviewers read it beside the draft),
-- what each decision did (results, the reply sent), and reviewer accounts with sessions.
ALTER TABLE jobs
    ADD COLUMN sender_address text NOT NULL DEFAULT '',
    ADD COLUMN subject        text NOT NULL DEFAULT '',
    ADD COLUMN body           text NOT NULL DEFAULT '',
    ADD COLUMN received_at    timestamptz;

CREATE INDEX jobs_pending_drafts ON jobs (urgent DESC, created_at) WHERE state = 'draft_ready';

ALTER TABLE decisions
    ADD COLUMN results bytea,                       -- crm.v1.ActionsExecuted
    ADD COLUMN reply   text NOT NULL DEFAULT '';    -- the reply approved for sending

CREATE TABLE reviewers (
    reviewer_id     text PRIMARY KEY CHECK (reviewer_id ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name    text NOT NULL DEFAULT '',
    password_hash   text NOT NULL,                  -- argon2id, never the password
    active          boolean NOT NULL DEFAULT true,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its cookie token, so a copy of this table lets
-- no one in. Each session has its own CSRF token for the forms it renders.
CREATE TABLE reviewer_sessions (
    token_sha256 bytea PRIMARY KEY,
    reviewer_id  text NOT NULL REFERENCES reviewers (reviewer_id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX reviewer_sessions_expiry ON reviewer_sessions (expires_at);

GRANT SELECT, INSERT, UPDATE ON reviewers TO {{runtime_role}};
GRANT SELECT, INSERT, DELETE ON reviewer_sessions TO {{runtime_role}};
