-- Row-level security: the runtime role sees only the rows of the customer named in the
-- transaction's `crm.customer_id` setting (set with set_config(..., true) at the start of
-- every read). The service's own queries also filter by customer; these policies stop a
-- bug in one of them from returning another customer's rows. Without the setting, the
-- runtime role sees no row at all.
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE shipments ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupons ENABLE ROW LEVEL SECURITY;

-- NULLIF: a setting that was set in an earlier transaction reads '' afterwards, and an
-- empty string must mean "nobody", not an error.
CREATE POLICY customer_own_row ON customers FOR SELECT TO {{runtime_role}}
    USING (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
CREATE POLICY customer_own_orders ON orders FOR SELECT TO {{runtime_role}}
    USING (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
CREATE POLICY customer_own_shipments ON shipments FOR SELECT TO {{runtime_role}}
    USING (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
CREATE POLICY customer_own_coupons ON coupons FOR SELECT TO {{runtime_role}}
    USING (customer_id = NULLIF(current_setting('crm.customer_id', true), '')::bigint);
