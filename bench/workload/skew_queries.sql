-- The statements of the skew workload: three templates, each with a
-- frequent, a middling and a rare constant (three statements of one
-- queryId: shapes kN_freq, kN_mid, kN_rare).
--   k1: an item by name, its sales joined to their customers (estimated as
--       the average item: one plan for all three)
--   k2: a category of items, its sales joined to their customers (the same)
--   k3: the sales of one item id since a day, joined to their customers
--       (estimated from the item column's statistics: the planner's plan
--       already depends on the constant)
DELETE FROM bench_shape WHERE workload = 'skew';
INSERT INTO bench_shape (workload, shape, what, query)
SELECT 'skew', t.shape || '_' || c.kind, t.what || ', ' || c.kind || ' constant', format(t.query, c.val)
  FROM (VALUES
	('k1', 'item by name, sales joined to customers', $q$
SELECT c.region, count(*), sum(f.amount) FROM skew_item i
  JOIN skew_sale f ON f.item_id = i.item_id JOIN skew_cust c ON c.cust_id = f.cust_id
 WHERE i.name = 'item %s' GROUP BY c.region$q$),
	('k2', 'category of items, sales joined to customers', $q$
SELECT c.segment, count(*), sum(f.qty) FROM skew_sale f
  JOIN skew_item i ON i.item_id = f.item_id JOIN skew_cust c ON c.cust_id = f.cust_id
 WHERE i.cat = %s GROUP BY c.segment$q$),
	('k3', 'sales of one item since a day joined to customers', $q$
SELECT c.segment, count(*), sum(f.amount) FROM skew_sale f JOIN skew_cust c ON c.cust_id = f.cust_id
 WHERE f.item_id = %s AND f.day >= date '2024-03-01' GROUP BY c.segment$q$)
  ) t(shape, what, query)
  JOIN (VALUES
	('k1', 'freq', '1'), ('k1', 'mid', '40'), ('k1', 'rare', '12000'),
	('k2', 'freq', '0'), ('k2', 'mid', '12'), ('k2', 'rare', '150'),
	('k3', 'freq', '1'), ('k3', 'mid', '40'), ('k3', 'rare', '12000')
  ) c(shape, kind, val) ON c.shape = t.shape;
