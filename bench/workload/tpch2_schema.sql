-- The tpch2 workload's data: the TPC-H-like generator of tpch_schema.sql at
-- the scale factor of psql variable sf (bench/workload.sh passes
-- NDAG_BENCH_TPCH2_SF).
\ir tpch_schema.sql
