-- The query shapes of the demo workload (see demo_schema.sql for the data).
DELETE FROM bench_shape WHERE workload = 'demo';
INSERT INTO bench_shape (workload, shape, what, query) VALUES
('demo', 'd01', 'correlated range filter, join store, group by region', $q$
SELECT s.region, count(*), sum(f.amount) FROM demo_sale f JOIN demo_store s ON s.store_id = f.store_id
 WHERE f.a BETWEEN 7 AND 16 AND f.b BETWEEN 7 AND 16 AND f.c BETWEEN 7 AND 16 GROUP BY s.region$q$),
('demo', 'd02', 'two correlated filters of sale joined on customer', $q$
SELECT count(*), sum(g.amount) FROM demo_sale f JOIN demo_sale g ON g.cust_id = f.cust_id
 WHERE f.a = 17 AND f.b = 17 AND f.c = 17 AND g.d = 3 AND g.e = 3$q$),
('demo', 'd03', 'spread correlated filter joined to the products of each category', $q$
SELECT p.brand, count(*) FROM demo_sale f JOIN demo_product p ON p.cat = f.a
 WHERE f.d = 27 AND f.e = 27 GROUP BY p.brand$q$),
('demo', 'd04', 'skewed store: the biggest store by name', $q$
SELECT s.name, count(*), sum(f.amount) FROM demo_store s JOIN demo_sale f ON f.store_id = s.store_id
 WHERE s.name = 'store 0' GROUP BY s.name$q$),
('demo', 'd05', 'overestimated filter joined to all sales of its customers', $q$
SELECT count(*), sum(g.amount) FROM demo_sale f JOIN demo_sale g ON g.cust_id = f.cust_id
 WHERE f.a = 37 AND f.b <> 37$q$),
('demo', 'd06', 'spread correlated filter, join customer, group by nation', $q$
SELECT c.nation, count(*) FROM demo_sale f JOIN demo_customer c ON c.cust_id = f.cust_id
 WHERE f.d = 4 AND f.e = 4 GROUP BY c.nation$q$),
('demo', 'd07', 'correlated range filter, three-way join', $q$
SELECT c.segment, p.brand, sum(f.qty) FROM demo_sale f
  JOIN demo_product p ON p.product_id = f.product_id
  JOIN demo_customer c ON c.cust_id = f.cust_id
 WHERE f.a BETWEEN 47 AND 49 AND f.b BETWEEN 47 AND 49 AND f.c BETWEEN 47 AND 49
 GROUP BY c.segment, p.brand$q$),
('demo', 'd08', 'IN subquery over a correlated filter', $q$
SELECT count(*) FROM demo_sale g
 WHERE g.cust_id IN (SELECT cust_id FROM demo_sale f WHERE f.a = 57 AND f.b = 57 AND f.c = 57)$q$),
('demo', 'd09', 'sales per day over a range of ids', $q$
SELECT day, count(*), sum(qty) FROM demo_sale WHERE id BETWEEN 200001 AND 300000 GROUP BY day$q$),
('demo', 'd10', 'revenue per region over a tenth of the sales', $q$
SELECT s.region, sum(f.amount) FROM demo_sale f JOIN demo_store s ON s.store_id = f.store_id
 WHERE f.a BETWEEN 100 AND 199 GROUP BY s.region$q$),
('demo', 'd11', 'returns of a correlated filter of sales', $q$
SELECT r.reason, count(*), sum(r.refund) FROM demo_sale f JOIN demo_return r ON r.cust_id = f.cust_id
 WHERE f.a = 67 AND f.b = 67 AND f.c = 67 AND f.d = f.e GROUP BY r.reason$q$),
('demo', 'd12', 'correlated filters on both sides of a return join', $q$
SELECT count(*) FROM demo_sale f JOIN demo_return r ON r.sale_id = f.id
  JOIN demo_sale g ON g.cust_id = r.cust_id
 WHERE f.d = 5 AND f.e = 5 AND g.a = 77 AND g.b = 77 AND g.c = 77$q$);
