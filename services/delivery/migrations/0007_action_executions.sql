-- Approved actions, executed once each. The idempotency key of a proposed action is the
-- primary key: executing the same approved action again finds the first result instead of
-- paying twice. Refunds and coupons are written here by the runtime role, for the
-- customer named for the transaction only (row-level security).
CREATE TABLE action_executions (
    idempotency_key text PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customers (customer_id),
    decision_id     text NOT NULL,
    action_type     text NOT NULL,
    target          text NOT NULL,
    amount          numeric(10, 2),
    outcome         text NOT NULL CHECK (outcome IN ('executed', 'refused')),
    detail          text NOT NULL DEFAULT '',
    refund_id       bigint,
    coupon_code     text,
    executed_at     timestamptz NOT NULL DEFAULT now()
);

-- At most one expedited-delivery coupon per shipment.
CREATE UNIQUE INDEX coupons_one_per_shipment ON coupons (delivery_id);

ALTER TABLE action_executions ENABLE ROW LEVEL SECURITY;
CREATE POLICY customer_own_executions ON action_executions FOR ALL TO {{runtime_role}}
    USING (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint)
    WITH CHECK (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
CREATE POLICY customer_new_refunds ON refunds FOR INSERT TO {{runtime_role}}
    WITH CHECK (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
CREATE POLICY customer_new_coupons ON coupons FOR INSERT TO {{runtime_role}}
    WITH CHECK (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
GRANT SELECT, INSERT ON action_executions TO {{runtime_role}};
GRANT INSERT ON refunds, coupons TO {{runtime_role}};
GRANT USAGE ON SEQUENCE refunds_refund_id_seq, coupons_coupon_id_seq TO {{runtime_role}};
