-- The demo schema: a fact table whose filter columns are functionally
-- dependent and whose store column is skewed, so that PostgreSQL's
-- independence assumption makes its row estimates wrong by up to 1000x.
--
--   demo_sale.a     = (id - 1) / 1500: 1,000 values, clustered (1,500 rows each)
--   demo_sale.b     = a, except for one row in 150 where it is a + 1
--   demo_sale.c     = a
--   demo_sale.d     = id % 1000: 1,000 values spread over the whole table
--   demo_sale.e     = d
--   demo_sale.store_id: half of the rows belong to store 0
--   demo_sale.product_id = a * 5 + id % 5: the products of a are those of category a
--
-- "a = x AND b = x AND c = x" is estimated at 1.5M / 1000^3 (one row) and
-- returns about 1,490 rows; "a = x AND b <> x" is estimated at 1,500 rows
-- and returns 10.  Deterministic: no random().
DROP TABLE IF EXISTS demo_sale, demo_product, demo_store, demo_customer, demo_return CASCADE;

CREATE TABLE demo_store (
	store_id	int PRIMARY KEY,
	region		int NOT NULL,
	name		text NOT NULL
);
INSERT INTO demo_store
SELECT g, g % 10, 'store ' || g FROM generate_series(0, 999) g;

CREATE TABLE demo_product (
	product_id	int PRIMARY KEY,
	cat			int NOT NULL,
	brand		int NOT NULL,
	price		numeric(10, 2) NOT NULL
);
INSERT INTO demo_product
SELECT g, g / 5, g % 37, 1 + (g % 500) / 10.0 FROM generate_series(0, 4999) g;

CREATE TABLE demo_customer (
	cust_id		int PRIMARY KEY,
	segment		int NOT NULL,
	nation		int NOT NULL,
	name		text NOT NULL
);
INSERT INTO demo_customer
SELECT g, g % 5, g % 25, 'customer ' || g FROM generate_series(0, 49999) g;

CREATE TABLE demo_sale (
	id			bigint PRIMARY KEY,
	a			int NOT NULL,
	b			int NOT NULL,
	c			int NOT NULL,
	d			int NOT NULL,
	e			int NOT NULL,
	store_id	int NOT NULL,
	product_id	int NOT NULL,
	cust_id		int NOT NULL,
	qty			int NOT NULL,
	amount		numeric(10, 2) NOT NULL,
	day			date NOT NULL
);
INSERT INTO demo_sale
SELECT g, (g - 1) / 1500,
	   (g - 1) / 1500 + CASE WHEN g % 150 = 0 THEN 1 ELSE 0 END,
	   (g - 1) / 1500, g % 1000, g % 1000,
	   CASE WHEN g % 2 = 0 THEN 0 ELSE (g / 2) % 999 + 1 END,
	   ((g - 1) / 1500) * 5 + g % 5,
	   (g::bigint * 7919) % 50000,
	   1 + g % 7, ((g % 1000) / 10.0)::numeric(10, 2),
	   date '2024-01-01' + (g * 13) % 365
FROM generate_series(1, 1500000) g;

CREATE TABLE demo_return (
	return_id	int PRIMARY KEY,
	sale_id		bigint NOT NULL,
	cust_id		int NOT NULL,
	reason		int NOT NULL,
	refund		numeric(10, 2) NOT NULL
);
INSERT INTO demo_return
SELECT g, g * 5, (g::bigint * 5 * 7919) % 50000, (g * 5 - 1) / 1500 % 20, ((g % 1000) / 10.0)::numeric(10, 2)
FROM generate_series(1, 300000) g;

CREATE INDEX demo_sale_a ON demo_sale (a);
CREATE INDEX demo_sale_d ON demo_sale (d);
CREATE INDEX demo_sale_store ON demo_sale (store_id);
CREATE INDEX demo_sale_cust ON demo_sale (cust_id);
CREATE INDEX demo_sale_product ON demo_sale (product_id);
CREATE INDEX demo_return_sale ON demo_return (sale_id);
CREATE INDEX demo_return_cust ON demo_return (cust_id);
VACUUM ANALYZE demo_store, demo_product, demo_customer, demo_sale, demo_return;
