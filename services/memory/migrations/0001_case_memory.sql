-- Case memory: one row per support case (owned by one customer) and one per message.
CREATE TABLE cases (
    case_id     text PRIMARY KEY,
    customer_id bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE case_messages (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL REFERENCES cases (case_id),
    customer_id bigint NOT NULL,
    job_id      text NOT NULL,
    direction   text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    subject     text NOT NULL DEFAULT '',
    body        text NOT NULL DEFAULT '',
    summary     text NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- A job records at most one message per direction: redelivery stores nothing new.
    UNIQUE (job_id, direction)
);

CREATE INDEX case_messages_case_time ON case_messages (case_id, occurred_at, id);

GRANT USAGE ON SCHEMA memory TO {{runtime_role}};
GRANT SELECT, INSERT ON cases, case_messages TO {{runtime_role}};
GRANT USAGE ON SEQUENCE case_messages_id_seq TO {{runtime_role}};
