-- The statements of the tpch2 workload: sixteen TPC-H templates (queries 1,
-- 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 17, 18, 19 and 22, adapted to the
-- columns tpch_schema.sql generates), each with two parameter sets drawn
-- as TPC-H's substitution rules draw them: two statements of one queryId
-- with different constants (shapes qNNa and qNNb).  Deterministic:
-- setseed() before the draws.
DELETE FROM bench_shape WHERE workload = 'tpch2';
SELECT setseed(0.57);

/* tpch2_pick: one element of a, drawn at random */
CREATE OR REPLACE FUNCTION pg_temp.tpch2_pick(a text[])
RETURNS text
LANGUAGE sql VOLATILE AS $$ SELECT a[1 + floor(random() * array_length(a, 1))::int] $$;

/* tpch2_int: an integer drawn from lo..hi */
CREATE OR REPLACE FUNCTION pg_temp.tpch2_int(lo int, hi int)
RETURNS int
LANGUAGE sql VOLATILE AS $$ SELECT lo + floor(random() * (hi - lo + 1))::int $$;

DO $do$
DECLARE
	nations		text[] := ARRAY['ALGERIA', 'ARGENTINA', 'BRAZIL', 'CANADA', 'EGYPT', 'ETHIOPIA', 'FRANCE',
								'GERMANY', 'INDIA', 'INDONESIA', 'IRAN', 'IRAQ', 'JAPAN', 'JORDAN', 'KENYA',
								'MOROCCO', 'MOZAMBIQUE', 'PERU', 'CHINA', 'ROMANIA', 'SAUDI ARABIA',
								'VIETNAM', 'RUSSIA', 'UNITED KINGDOM', 'UNITED STATES'];
	regions		text[] := ARRAY['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'];
	segments	text[] := ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'];
	modes		text[] := ARRAY['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];
	colors		text[] := ARRAY['almond', 'antique', 'aquamarine', 'azure', 'beige', 'bisque', 'black',
								'blanched', 'blue', 'blush', 'brown', 'burlywood', 'chartreuse', 'chiffon',
								'forest', 'green'];
	types1		text[] := ARRAY['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'];
	types2		text[] := ARRAY['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'];
	types3		text[] := ARRAY['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'];
	cont1		text[] := ARRAY['SM', 'LG', 'MED', 'JUMBO', 'WRAP'];
	cont2		text[] := ARRAY['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'];
	sf			float8;
	k			int;
	n1			text;
	n2			text;
	m1			text;
	m2			text;
	codes		text;
	s			text;
BEGIN
	SELECT count(*) / 10000.0 INTO sf FROM supplier;
	FOR k IN 1..2 LOOP
		s := CASE k WHEN 1 THEN 'a' ELSE 'b' END;

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q01' || s, 'pricing summary report', format($q$
SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
	   sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
	   sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
	   avg(l_quantity) AS avg_qty, avg(l_discount) AS avg_disc, count(*) AS count_order
  FROM lineitem WHERE l_shipdate <= date '1998-12-01' - interval '%s days'
 GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus$q$, pg_temp.tpch2_int(60, 120)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q03' || s, 'shipping priority', format($q$
SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
  FROM customer, orders, lineitem
 WHERE c_mktsegment = %L AND c_custkey = o_custkey AND l_orderkey = o_orderkey
   AND o_orderdate < date %2$L AND l_shipdate > date %2$L
 GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC, o_orderdate LIMIT 10$q$,
			pg_temp.tpch2_pick(segments), date '1995-03-01' + pg_temp.tpch2_int(0, 30)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q04' || s, 'order priority checking', format($q$
SELECT o_orderpriority, count(*) AS order_count FROM orders
 WHERE o_orderdate >= date %1$L AND o_orderdate < date %1$L + interval '3 months'
   AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
 GROUP BY o_orderpriority ORDER BY o_orderpriority$q$,
			(date '1993-01-01' + pg_temp.tpch2_int(0, 57) * interval '1 month')::date));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q05' || s, 'local supplier volume', format($q$
SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
  FROM customer, orders, lineitem, supplier, nation, region
 WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
   AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
   AND r_name = %L AND o_orderdate >= date '%s-01-01' AND o_orderdate < date '%2$s-01-01' + interval '1 year'
 GROUP BY n_name ORDER BY revenue DESC$q$, pg_temp.tpch2_pick(regions), pg_temp.tpch2_int(1993, 1997)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q06' || s, 'forecasting revenue change', format($q$
SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem
 WHERE l_shipdate >= date '%1$s-01-01' AND l_shipdate < date '%1$s-01-01' + interval '1 year'
   AND l_discount BETWEEN %2$s - 0.01 AND %2$s + 0.01 AND l_quantity < %3$s$q$,
			pg_temp.tpch2_int(1993, 1997), round(pg_temp.tpch2_int(2, 9) / 100.0, 2), pg_temp.tpch2_int(24, 25)));

		n1 := pg_temp.tpch2_pick(nations);
		LOOP
			n2 := pg_temp.tpch2_pick(nations);
			EXIT WHEN n2 <> n1;
		END LOOP;
		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q07' || s, 'volume shipping', format($q$
SELECT supp_nation, cust_nation, l_year, sum(volume) AS revenue
  FROM (SELECT n1.n_name AS supp_nation, n2.n_name AS cust_nation,
			   extract(year FROM l_shipdate) AS l_year, l_extendedprice * (1 - l_discount) AS volume
		  FROM supplier, lineitem, orders, customer, nation n1, nation n2
		 WHERE s_suppkey = l_suppkey AND o_orderkey = l_orderkey AND c_custkey = o_custkey
		   AND s_nationkey = n1.n_nationkey AND c_nationkey = n2.n_nationkey
		   AND ((n1.n_name = %1$L AND n2.n_name = %2$L) OR (n1.n_name = %2$L AND n2.n_name = %1$L))
		   AND l_shipdate BETWEEN date '1995-01-01' AND date '1996-12-31') shipping
 GROUP BY supp_nation, cust_nation, l_year ORDER BY supp_nation, cust_nation, l_year$q$, n1, n2));

		n1 := pg_temp.tpch2_pick(nations);
		SELECT r_name INTO m1 FROM region JOIN nation ON n_regionkey = r_regionkey WHERE n_name = n1;
		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q08' || s, 'national market share', format($q$
SELECT o_year, sum(CASE WHEN nation = %1$L THEN volume ELSE 0 END) / sum(volume) AS mkt_share
  FROM (SELECT extract(year FROM o_orderdate) AS o_year, l_extendedprice * (1 - l_discount) AS volume,
			   n2.n_name AS nation
		  FROM part, supplier, lineitem, orders, customer, nation n1, nation n2, region
		 WHERE p_partkey = l_partkey AND s_suppkey = l_suppkey AND l_orderkey = o_orderkey
		   AND o_custkey = c_custkey AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey
		   AND r_name = %2$L AND s_nationkey = n2.n_nationkey
		   AND o_orderdate BETWEEN date '1995-01-01' AND date '1996-12-31' AND p_type = %3$L) all_nations
 GROUP BY o_year ORDER BY o_year$q$, n1, m1,
			pg_temp.tpch2_pick(types1) || ' ' || pg_temp.tpch2_pick(types2) || ' ' || pg_temp.tpch2_pick(types3)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q09' || s, 'product type profit measure', format($q$
SELECT nation, o_year, sum(amount) AS sum_profit
  FROM (SELECT n_name AS nation, extract(year FROM o_orderdate) AS o_year,
			   l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity AS amount
		  FROM part, supplier, lineitem, partsupp, orders, nation
		 WHERE s_suppkey = l_suppkey AND ps_suppkey = l_suppkey AND ps_partkey = l_partkey
		   AND p_partkey = l_partkey AND o_orderkey = l_orderkey AND s_nationkey = n_nationkey
		   AND p_name LIKE %L) profit
 GROUP BY nation, o_year ORDER BY nation, o_year DESC$q$, '%' || pg_temp.tpch2_pick(colors) || ' ' ||
			pg_temp.tpch2_pick(ARRAY['lace', 'metallic', 'misty', 'navy', 'olive', 'orange', 'peach', 'pink']) || '%'));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q10' || s, 'returned item reporting', format($q$
SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name,
	   c_address, c_phone, c_comment
  FROM customer, orders, lineitem, nation
 WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
   AND o_orderdate >= date %1$L AND o_orderdate < date %1$L + interval '3 months'
   AND l_returnflag = 'R' AND c_nationkey = n_nationkey
 GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
 ORDER BY revenue DESC LIMIT 20$q$, (date '1993-02-01' + pg_temp.tpch2_int(0, 23) * interval '1 month')::date));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q11' || s, 'important stock identification', format($q$
SELECT ps_partkey, sum(ps_supplycost * ps_availqty) AS value
  FROM partsupp, supplier, nation
 WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = %1$L
 GROUP BY ps_partkey
HAVING sum(ps_supplycost * ps_availqty) >
	   (SELECT sum(ps_supplycost * ps_availqty) * %2$s FROM partsupp, supplier, nation
		 WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = %1$L)
 ORDER BY value DESC$q$, pg_temp.tpch2_pick(nations), round((0.0001 / greatest(sf, 0.01))::numeric, 6)));

		m1 := pg_temp.tpch2_pick(modes);
		LOOP
			m2 := pg_temp.tpch2_pick(modes);
			EXIT WHEN m2 <> m1;
		END LOOP;
		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q12' || s, 'shipping modes and order priority', format($q$
SELECT l_shipmode,
	   sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS high_line_count,
	   sum(CASE WHEN o_orderpriority NOT IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS low_line_count
  FROM orders, lineitem
 WHERE o_orderkey = l_orderkey AND l_shipmode IN (%L, %L)
   AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate
   AND l_receiptdate >= date '%3$s-01-01' AND l_receiptdate < date '%3$s-01-01' + interval '1 year'
 GROUP BY l_shipmode ORDER BY l_shipmode$q$, m1, m2, pg_temp.tpch2_int(1993, 1997)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q14' || s, 'promotion effect', format($q$
SELECT 100.00 * sum(CASE WHEN p_type LIKE 'PROMO%%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END)
	   / sum(l_extendedprice * (1 - l_discount)) AS promo_revenue
  FROM lineitem, part
 WHERE l_partkey = p_partkey AND l_shipdate >= date %1$L AND l_shipdate < date %1$L + interval '1 month'$q$,
			(date '1993-01-01' + pg_temp.tpch2_int(0, 59) * interval '1 month')::date));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q17' || s, 'small-quantity-order revenue', format($q$
SELECT sum(l_extendedprice) / 7.0 AS avg_yearly
  FROM lineitem, part
 WHERE p_partkey = l_partkey AND p_brand = %L AND p_container = %L
   AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)$q$,
			'Brand#' || pg_temp.tpch2_int(1, 5) || pg_temp.tpch2_int(1, 5),
			pg_temp.tpch2_pick(cont1) || ' ' || pg_temp.tpch2_pick(cont2)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q18' || s, 'large volume customer', format($q$
SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
  FROM customer, orders, lineitem
 WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > %s)
   AND c_custkey = o_custkey AND o_orderkey = l_orderkey
 GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
 ORDER BY o_totalprice DESC, o_orderdate LIMIT 100$q$, pg_temp.tpch2_int(300, 315)));

		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q19' || s, 'discounted revenue', format($q$
SELECT sum(l_extendedprice * (1 - l_discount)) AS revenue FROM lineitem, part
 WHERE (p_partkey = l_partkey AND p_brand = %L AND p_container IN ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
		AND l_quantity >= %s AND l_quantity <= %2$s + 10 AND p_size BETWEEN 1 AND 5
		AND l_shipmode IN ('AIR', 'REG AIR') AND l_shipinstruct = 'DELIVER IN PERSON')
	OR (p_partkey = l_partkey AND p_brand = %L AND p_container IN ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
		AND l_quantity >= %s AND l_quantity <= %4$s + 10 AND p_size BETWEEN 1 AND 10
		AND l_shipmode IN ('AIR', 'REG AIR') AND l_shipinstruct = 'DELIVER IN PERSON')
	OR (p_partkey = l_partkey AND p_brand = %L AND p_container IN ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
		AND l_quantity >= %s AND l_quantity <= %6$s + 10 AND p_size BETWEEN 1 AND 15
		AND l_shipmode IN ('AIR', 'REG AIR') AND l_shipinstruct = 'DELIVER IN PERSON')$q$,
			'Brand#' || pg_temp.tpch2_int(1, 5) || pg_temp.tpch2_int(1, 5), pg_temp.tpch2_int(1, 10),
			'Brand#' || pg_temp.tpch2_int(1, 5) || pg_temp.tpch2_int(1, 5), pg_temp.tpch2_int(10, 20),
			'Brand#' || pg_temp.tpch2_int(1, 5) || pg_temp.tpch2_int(1, 5), pg_temp.tpch2_int(20, 30)));

		SELECT string_agg(quote_literal(c), ', ') INTO codes
		  FROM (SELECT c FROM generate_series(10, 34) c ORDER BY random() LIMIT 7) x;
		INSERT INTO bench_shape (workload, shape, what, query) VALUES ('tpch2', 'q22' || s, 'global sales opportunity', format($q$
SELECT cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal
  FROM (SELECT substring(c_phone FROM 1 FOR 2) AS cntrycode, c_acctbal FROM customer
		 WHERE substring(c_phone FROM 1 FOR 2) IN (%1$s)
		   AND c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00
							   AND substring(c_phone FROM 1 FOR 2) IN (%1$s))
		   AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)) custsale
 GROUP BY cntrycode ORDER BY cntrycode$q$, codes));
	END LOOP;
END
$do$;
