-- The product catalog: one row per model in one size and colour, the stock on hand,
-- and the supplier deliveries on their way to the warehouse. Ids come from the shop's
-- reference data and stay stable across loads (evaluations refer to them).
CREATE TABLE products (
    product_id  bigint PRIMARY KEY,
    name        text NOT NULL,
    size_us     numeric(4, 1) NOT NULL CHECK (size_us > 0),
    color       text NOT NULL,
    material    text NOT NULL,
    weight_kg   numeric NOT NULL CHECK (weight_kg >= 0),
    brand       text NOT NULL,
    price       numeric(10, 2) NOT NULL CHECK (price >= 0),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE inventory (
    product_id bigint PRIMARY KEY REFERENCES products (product_id) ON DELETE CASCADE,
    quantity   integer NOT NULL CHECK (quantity >= 0)
);

CREATE TABLE incoming_deliveries (
    id            bigint PRIMARY KEY,
    product_id    bigint NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    quantity      integer NOT NULL CHECK (quantity > 0),
    expected_date date NOT NULL,
    received_date date,
    supplier      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'received', 'cancelled'))
);

-- Searches filter on these columns; the catalog is small, but the lookups by product
-- stay index-backed as it grows.
CREATE INDEX products_brand_name ON products (brand, name);
CREATE INDEX incoming_deliveries_pending ON incoming_deliveries (product_id, expected_date)
    WHERE status = 'pending' AND received_date IS NULL;

-- The runtime role only reads the catalog: searches never write, and it sees no other
-- table of this schema (not even schema_migrations).
GRANT USAGE ON SCHEMA product TO {{runtime_role}};
GRANT SELECT ON products, inventory, incoming_deliveries TO {{runtime_role}};
