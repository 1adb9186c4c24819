-- The skew workload's data: a fact table whose item column follows a
-- Zipf-like law (item 1 has about 17% of the rows, items 1 to 100 about 60%,
-- an item past 10,000 a handful), joined to its items and customers.  A
-- filter on an item's name or category is estimated from the average item,
-- so the planner makes one plan for every constant, while a frequent item
-- wants hash joins over sequential scans and a rare one nested loops over
-- index scans.  psql variable rows: fact rows (default 2,000,000).
-- Deterministic: setseed() before random().
\if :{?rows}
\else
\set rows 2000000
\endif
DROP TABLE IF EXISTS skew_sale, skew_item, skew_cust CASCADE;

SELECT setseed(0.71);

CREATE TABLE skew_item (
	item_id		int PRIMARY KEY,
	name		text NOT NULL,
	cat			int NOT NULL,		-- items 1-100 are category 0, 101-200 category 1, ...
	price		numeric(10, 2) NOT NULL
);
INSERT INTO skew_item
SELECT g, 'item ' || g, (g - 1) / 100, 1 + (g % 997) / 10.0 FROM generate_series(1, 20000) g;
CREATE UNIQUE INDEX ON skew_item (name);
CREATE INDEX ON skew_item (cat);

CREATE TABLE skew_cust (
	cust_id		int PRIMARY KEY,
	region		int NOT NULL,
	segment		int NOT NULL
);
INSERT INTO skew_cust
SELECT g, g % 10, g % 7 FROM generate_series(1, 50000) g;

CREATE TABLE skew_sale (
	id			bigint PRIMARY KEY,
	item_id		int NOT NULL,
	cust_id		int NOT NULL,
	day			date NOT NULL,
	qty			int NOT NULL,
	amount		numeric(10, 2) NOT NULL
);
INSERT INTO skew_sale
SELECT g, least(20000, floor(exp(power(random(), 1.5) * ln(20001)))::int),
	   1 + floor(random() * 50000)::int, date '2024-01-01' + floor(random() * 366)::int,
	   1 + floor(random() * 10)::int, round((random() * 100)::numeric, 2)
FROM generate_series(1, :rows) g;
CREATE INDEX ON skew_sale (item_id);
CREATE INDEX ON skew_sale (cust_id);
VACUUM ANALYZE skew_item, skew_cust, skew_sale;
