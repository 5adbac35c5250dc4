-- What a refund was for. A late-delivery refund is capped at the order's delivery fee, so
-- the policy must know how much of the fee has already been given back; free text in
-- `reason` is for people, this column is for the rules.
ALTER TABLE refunds ADD COLUMN kind text NOT NULL DEFAULT 'charge'
    CHECK (kind IN ('delivery_fee', 'charge', 'return'));
