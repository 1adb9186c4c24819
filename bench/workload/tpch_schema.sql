-- A TPC-H-like schema and data generator (not the official dbgen; the same
-- tables, key relations and value distributions in spirit), at a scale
-- factor given by psql variable sf (default 0.1: 150,000 orders, about
-- 600,000 line items).  Deterministic: setseed() before every random().
\if :{?sf}
\else
\set sf 0.1
\endif
DROP TABLE IF EXISTS lineitem, orders, partsupp, part, customer, supplier, nation, region CASCADE;

SELECT setseed(0.31);

CREATE TABLE region (
	r_regionkey	int PRIMARY KEY,
	r_name		text NOT NULL
);
INSERT INTO region VALUES
	(0, 'AFRICA'), (1, 'AMERICA'), (2, 'ASIA'), (3, 'EUROPE'), (4, 'MIDDLE EAST');

CREATE TABLE nation (
	n_nationkey	int PRIMARY KEY,
	n_name		text NOT NULL,
	n_regionkey	int NOT NULL REFERENCES region
);
INSERT INTO nation VALUES
	(0, 'ALGERIA', 0), (1, 'ARGENTINA', 1), (2, 'BRAZIL', 1), (3, 'CANADA', 1),
	(4, 'EGYPT', 4), (5, 'ETHIOPIA', 0), (6, 'FRANCE', 3), (7, 'GERMANY', 3),
	(8, 'INDIA', 2), (9, 'INDONESIA', 2), (10, 'IRAN', 4), (11, 'IRAQ', 4),
	(12, 'JAPAN', 2), (13, 'JORDAN', 4), (14, 'KENYA', 0), (15, 'MOROCCO', 0),
	(16, 'MOZAMBIQUE', 0), (17, 'PERU', 1), (18, 'CHINA', 2), (19, 'ROMANIA', 3),
	(20, 'SAUDI ARABIA', 4), (21, 'VIETNAM', 2), (22, 'RUSSIA', 3),
	(23, 'UNITED KINGDOM', 3), (24, 'UNITED STATES', 1);

CREATE TABLE supplier (
	s_suppkey	int PRIMARY KEY,
	s_name		text NOT NULL,
	s_nationkey	int NOT NULL REFERENCES nation,
	s_acctbal	numeric(12, 2) NOT NULL
);
INSERT INTO supplier
SELECT g, 'Supplier#' || lpad(g::text, 9, '0'), (random() * 24)::int,
	   round((random() * 10998.99 - 999.99)::numeric, 2)
FROM generate_series(1, (10000 * :sf)::int) g;

CREATE TABLE customer (
	c_custkey	int PRIMARY KEY,
	c_name		text NOT NULL,
	c_address	text NOT NULL,
	c_nationkey	int NOT NULL REFERENCES nation,
	c_phone		text NOT NULL,
	c_acctbal	numeric(12, 2) NOT NULL,
	c_mktsegment text NOT NULL,
	c_comment	text NOT NULL
);
INSERT INTO customer
SELECT g, 'Customer#' || lpad(g::text, 9, '0'), md5(g::text), n,
	   (n + 10) || '-' || (100 + g % 900) || '-' || (1000 + g % 9000),
	   round((random() * 10998.99 - 999.99)::numeric, 2),
	   (ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'])[1 + (random() * 4)::int],
	   md5((g * 7)::text)
FROM (SELECT g, (random() * 24)::int AS n FROM generate_series(1, (150000 * :sf)::int) g) s;

CREATE TABLE part (
	p_partkey	int PRIMARY KEY,
	p_name		text NOT NULL,
	p_mfgr		text NOT NULL,
	p_brand		text NOT NULL,
	p_type		text NOT NULL,
	p_size		int NOT NULL,
	p_container	text NOT NULL,
	p_retailprice numeric(12, 2) NOT NULL
);
INSERT INTO part
SELECT g, (ARRAY['almond', 'antique', 'aquamarine', 'azure', 'beige', 'bisque', 'black', 'blanched',
				 'blue', 'blush', 'brown', 'burlywood', 'chartreuse', 'chiffon', 'forest', 'green'])[1 + (random() * 15)::int]
		  || ' ' || (ARRAY['lace', 'metallic', 'misty', 'navy', 'olive', 'orange', 'peach', 'pink'])[1 + (random() * 7)::int],
	   'Manufacturer#' || m, 'Brand#' || m || (1 + (random() * 4)::int),
	   (ARRAY['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'])[1 + (random() * 5)::int] || ' ' ||
	   (ARRAY['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'])[1 + (random() * 4)::int] || ' ' ||
	   (ARRAY['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'])[1 + (random() * 4)::int],
	   1 + (random() * 49)::int,
	   (ARRAY['SM', 'LG', 'MED', 'JUMBO', 'WRAP'])[1 + (random() * 4)::int] || ' ' ||
	   (ARRAY['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'])[1 + (random() * 7)::int],
	   (90000 + (g / 10) % 20001 + 100 * (g % 1000)) / 100.0
FROM (SELECT g, 1 + (random() * 4)::int AS m FROM generate_series(1, (200000 * :sf)::int) g) s;

CREATE TABLE partsupp (
	ps_partkey	int NOT NULL REFERENCES part,
	ps_suppkey	int NOT NULL REFERENCES supplier,
	ps_availqty	int NOT NULL,
	ps_supplycost numeric(12, 2) NOT NULL,
	PRIMARY KEY (ps_partkey, ps_suppkey)
);
INSERT INTO partsupp
SELECT p, 1 + (p + i * ((10000 * :sf)::int / 4 + (p - 1) / (10000 * :sf)::int)) % (10000 * :sf)::int,
	   1 + (random() * 9998)::int, round((1 + random() * 999)::numeric, 2)
FROM generate_series(1, (200000 * :sf)::int) p, generate_series(0, 3) i;

CREATE TABLE orders (
	o_orderkey	int PRIMARY KEY,
	o_custkey	int NOT NULL REFERENCES customer,
	o_orderstatus text NOT NULL,
	o_totalprice numeric(12, 2) NOT NULL,
	o_orderdate	date NOT NULL,
	o_orderpriority text NOT NULL,
	o_shippriority int NOT NULL
);
INSERT INTO orders
SELECT g, 1 + (random() * ((150000 * :sf)::int - 1))::int, 'O', 0,
	   date '1992-01-01' + (random() * 2405)::int,
	   (ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[1 + (random() * 4)::int],
	   0
FROM generate_series(1, (1500000 * :sf)::int) g;

CREATE TABLE lineitem (
	l_orderkey	int NOT NULL REFERENCES orders,
	l_partkey	int NOT NULL,
	l_suppkey	int NOT NULL,
	l_linenumber int NOT NULL,
	l_quantity	numeric(12, 2) NOT NULL,
	l_extendedprice numeric(12, 2) NOT NULL,
	l_discount	numeric(12, 2) NOT NULL,
	l_tax		numeric(12, 2) NOT NULL,
	l_returnflag text NOT NULL,
	l_linestatus text NOT NULL,
	l_shipdate	date NOT NULL,
	l_commitdate date NOT NULL,
	l_receiptdate date NOT NULL,
	l_shipinstruct text NOT NULL,
	l_shipmode	text NOT NULL,
	PRIMARY KEY (l_orderkey, l_linenumber)
);
INSERT INTO lineitem
SELECT o_orderkey, partkey,
	   1 + (partkey + (random() * 3)::int * ((10000 * :sf)::int / 4 + (partkey - 1) / (10000 * :sf)::int)) % (10000 * :sf)::int,
	   l, qty, round(qty * (90000 + (partkey / 10) % 20001 + 100 * (partkey % 1000)) / 100.0, 2),
	   round((random() * 10)::int / 100.0, 2), round((random() * 8)::int / 100.0, 2),
	   CASE WHEN ship + 1 + (random() * 29)::int <= date '1995-06-17'
			THEN (ARRAY['R', 'A'])[1 + (random())::int] ELSE 'N' END,
	   CASE WHEN ship > date '1995-06-17' THEN 'O' ELSE 'F' END,
	   ship, o_orderdate + 30 + (random() * 60)::int, ship + 1 + (random() * 29)::int,
	   (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[1 + (random() * 3)::int],
	   (ARRAY['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])[1 + (random() * 6)::int]
FROM (SELECT o_orderkey, o_orderdate, l,
			 1 + (random() * ((200000 * :sf)::int - 1))::int AS partkey,
			 1 + (random() * 49)::int AS qty,
			 o_orderdate + 1 + (random() * 120)::int AS ship
	  FROM orders, generate_series(1, 1 + (o_orderkey::bigint * 7919) % 7) l) s;

UPDATE orders SET o_totalprice = t.total,
	   o_orderstatus = CASE WHEN t.open = t.n THEN 'O' WHEN t.open = 0 THEN 'F' ELSE 'P' END
  FROM (SELECT l_orderkey, sum(l_extendedprice * (1 + l_tax) * (1 - l_discount)) AS total,
			   count(*) FILTER (WHERE l_linestatus = 'O') AS open, count(*) AS n
		  FROM lineitem GROUP BY l_orderkey) t
 WHERE o_orderkey = t.l_orderkey;

CREATE INDEX ON orders (o_custkey);
CREATE INDEX ON orders (o_orderdate);
CREATE INDEX ON lineitem (l_partkey);
CREATE INDEX ON lineitem (l_suppkey);
CREATE INDEX ON lineitem (l_shipdate);
CREATE INDEX ON customer (c_nationkey);
CREATE INDEX ON supplier (s_nationkey);
CREATE INDEX ON partsupp (ps_suppkey);
VACUUM ANALYZE region, nation, supplier, customer, part, partsupp, orders, lineitem;
