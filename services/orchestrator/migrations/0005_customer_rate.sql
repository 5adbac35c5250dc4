-- The per-customer rate limit counts a customer's recent jobs.
CREATE INDEX jobs_customer_created ON jobs (customer_id, created_at);
