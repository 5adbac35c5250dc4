-- A failed job can be re-driven from the dead letters (`crmctl dlq replay`): its stored
-- failure is cleared and counted here, and its new outcome is published under a new
-- message id. Drafts are never re-driven.
ALTER TABLE jobs ADD COLUMN replays integer NOT NULL DEFAULT 0;
