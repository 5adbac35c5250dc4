-- Whose is a sender address? Row-level security lets the runtime role see only the
-- authenticated customer's row, so this one question about the other rows is answered
-- by a function running as the schema owner. It returns a verdict, never another
-- customer's id, name or address.
CREATE FUNCTION sender_verdict(p_customer_id bigint, p_address text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = delivery, pg_temp
AS $$
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM customers WHERE customer_id = p_customer_id)
            THEN 'customer_unknown'
        WHEN EXISTS (SELECT 1 FROM customers
                     WHERE customer_id = p_customer_id AND lower(email) = lower(trim(p_address)))
            THEN 'customer'
        WHEN EXISTS (SELECT 1 FROM customers WHERE lower(email) = lower(trim(p_address)))
            THEN 'other_customer'
        ELSE 'unknown_address'
    END
$$;

REVOKE ALL ON FUNCTION sender_verdict(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sender_verdict(bigint, text) TO {{runtime_role}};
