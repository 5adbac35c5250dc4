-- What each message of a case was about and the facts that matter later: the topic the
-- agent gave an inbound e-mail, and the numbers, products, actions and promises involved.
ALTER TABLE case_messages ADD COLUMN topic text NOT NULL DEFAULT '';
ALTER TABLE case_messages ADD COLUMN facts jsonb NOT NULL DEFAULT '{}'::jsonb;
GRANT UPDATE (topic, facts) ON case_messages TO {{runtime_role}};
