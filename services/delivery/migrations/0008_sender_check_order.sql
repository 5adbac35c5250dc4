-- A known customer's address is "other_customer" whatever the claimed customer id is,
-- including an id that does not exist (it was "customer_unknown", and the e-mail went on
-- to be drafted).
CREATE OR REPLACE FUNCTION sender_verdict(p_customer_id bigint, p_address text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = delivery, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM customers
                     WHERE customer_id = p_customer_id AND lower(email) = lower(trim(p_address)))
            THEN 'customer'
        WHEN EXISTS (SELECT 1 FROM customers WHERE lower(email) = lower(trim(p_address)))
            THEN 'other_customer'
        WHEN NOT EXISTS (SELECT 1 FROM customers WHERE customer_id = p_customer_id)
            THEN 'customer_unknown'
        ELSE 'unknown_address'
    END
$$;
