-- Reviewers' decisions on drafts. A decision id is stored once (a redelivered decision
-- finds its row); at most one decision per job is carried out.
CREATE TABLE decisions (
    decision_id  text PRIMARY KEY,
    job_id       text NOT NULL,
    customer_id  bigint NOT NULL,
    reviewer_id  text NOT NULL DEFAULT '',
    state        text NOT NULL CHECK (state IN ('carrying_out', 'done', 'refused')),
    reason       text NOT NULL DEFAULT '',
    decision     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX decisions_one_per_job ON decisions (job_id) WHERE state <> 'refused';

GRANT SELECT, INSERT, UPDATE ON decisions TO {{runtime_role}};
