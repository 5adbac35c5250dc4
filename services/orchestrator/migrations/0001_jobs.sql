-- One row per job (e-mail event). The outcome is stored before it is published, so a
-- redelivered job never produces a second outcome, and a crash between storing and
-- publishing is repaired on redelivery (outbox).
CREATE TABLE jobs (
    job_id               text PRIMARY KEY,
    case_id              text NOT NULL DEFAULT '',
    customer_id          bigint NOT NULL DEFAULT 0,
    state                text NOT NULL DEFAULT 'running'
                         CHECK (state IN ('running', 'draft_ready', 'manual_handling', 'failed')),
    topic                text NOT NULL DEFAULT '',
    urgent               boolean NOT NULL DEFAULT false,
    stream_sequence      bigint NOT NULL DEFAULT 0,
    delivery_attempts    integer NOT NULL DEFAULT 0,
    outcome_subject      text,
    outcome              bytea,
    outcome_published_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX jobs_case_created ON jobs (case_id, created_at DESC);
CREATE INDEX jobs_created ON jobs (created_at DESC);

GRANT USAGE ON SCHEMA orchestrator TO {{runtime_role}};
GRANT SELECT, INSERT, UPDATE ON jobs TO {{runtime_role}};
