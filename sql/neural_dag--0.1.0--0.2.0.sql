/* neural_dag--0.1.0--0.2.0.sql: ALTER EXTENSION neural_dag UPDATE from 0.1.0 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION neural_dag UPDATE TO '0.2.0'" to load this file. \quit

-- The objects below are those neural_dag--0.2.0.sql adds to the objects of
-- neural_dag--0.1.0.sql, in the same words, so that an updated database and
-- a fresh 0.2.0 install hold the same objects (t/151_extension_update.pl).
-- The store needs no SQL: a store of the 0.1.0 formats is read and migrated
-- when it is opened (lmdb_store/store_migrate.c).

-- ---------------------------------------------------------------------------
-- 0.2.0: reset scopes
-- ---------------------------------------------------------------------------
COMMENT ON FUNCTION ruvector_dag_reset(text) IS
	'Forget a scope of the current database''s learned state at commit: queries (per-statement memory, ndag_queries), patterns (with their index metadata and HDC snapshots; arms proven for a statement stay), trajectories (with their plan nodes), models, healing, learned (all of these), all (learned, the enabled tables and the arms back to the built-in catalogue); the single stores tables, arms, nodes, hdc, index_meta and btsp (= queries) are accepted too; returns the records and per-statement entries removed';

-- ---------------------------------------------------------------------------
-- 0.2.0: the enabled tables follow pg_dump.  The store (ndag_tables) is the
-- runtime source; ndag_enabled_tables follows it (enable, disable, reset,
-- DROP) and is dumped by pg_dump, each relation by its qualified name; a row
-- restored into it enables its relation in the store (trigger).
-- ---------------------------------------------------------------------------
CREATE TABLE ndag_enabled_tables (
	relation regclass PRIMARY KEY
);
COMMENT ON TABLE ndag_enabled_tables IS
	'The tables enabled for learning in this database, as pg_dump carries them: kept in step with ndag_tables by ruvector_enable_neural_dag(), ruvector_disable_neural_dag(), ruvector_dag_reset() and DROP; a row inserted (pg_restore) enables its table';
SELECT pg_catalog.pg_extension_config_dump('ndag_enabled_tables', '');
GRANT SELECT ON ndag_enabled_tables TO PUBLIC;

CREATE FUNCTION ruvector_dag_enabled_tables_apply()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ruvector_dag_enabled_tables_apply'
LANGUAGE C;
COMMENT ON FUNCTION ruvector_dag_enabled_tables_apply() IS
	'Trigger of ndag_enabled_tables: a row inserted (pg_restore, an admin) enables its table for learning at commit';

CREATE TRIGGER ndag_enabled_tables_apply
	AFTER INSERT ON ndag_enabled_tables
	FOR EACH ROW EXECUTE FUNCTION ruvector_dag_enabled_tables_apply();

-- rows of dropped relations go, so that a later relation given the same OID
-- is never enabled by a dump (the store forgets them in drop_tracking.c)
CREATE FUNCTION ruvector_dag_enabled_tables_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- DROP EXTENSION neural_dag drops the table itself
	IF pg_catalog.to_regclass('@extschema@.ndag_enabled_tables') IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM @extschema@.ndag_enabled_tables e
	WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
					  WHERE c.oid OPERATOR(pg_catalog.=) e.relation::pg_catalog.oid);
END
$$;
REVOKE ALL ON FUNCTION ruvector_dag_enabled_tables_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER ruvector_dag_enabled_tables_dropped ON sql_drop
	EXECUTE FUNCTION ruvector_dag_enabled_tables_dropped();

-- ---------------------------------------------------------------------------
-- 0.2.0: ndag_queries
--
-- The plan rewriter's memory of each statement class of this database (one
-- row per query_id, which is pg_stat_statements.queryid, and class, the
-- shape of its default plan): what its next planning does and why, the
-- default plan's median latency, the best arm proven faster and its
-- geometric mean latency, runs_per_arm[arm_id + 1] (runs_per_arm[1] = default
-- runs), demoted arms, and the DBA's controls: pinned_arm (NULL: none),
-- forbidden_arms, frozen.  The learner keeps it in the store, so it
-- survives restarts.  UPDATE of the controls and DELETE (forget the class)
-- are for neural_dag_admin.
-- ---------------------------------------------------------------------------
CREATE FOREIGN TABLE ndag_queries (
	dbid				oid NOT NULL,
	query_id			bigint NOT NULL,
	class				bigint NOT NULL,
	decision			text,
	decision_source		text,
	default_median_ms	double precision,
	best_arm			integer,
	best_arm_median_ms	double precision,
	runs_per_arm		integer[],
	demoted_arms		integer[],
	pinned_arm			integer,
	forbidden_arms		integer[],
	frozen				boolean,
	last_used			timestamptz
) SERVER neural_dag OPTIONS (store 'queries');

GRANT SELECT ON ndag_queries TO PUBLIC;
GRANT UPDATE (pinned_arm, forbidden_arms, frozen), DELETE ON ndag_queries TO neural_dag_admin;

-- the tables enabled before the update: into the config table, so that the
-- next pg_dump carries them (the trigger finds them enabled already).
-- Reading ndag_tables needs the library preloaded; without it the update
-- goes on and the list stays empty until tables are enabled again.
DO $$
BEGIN
	INSERT INTO @extschema@.ndag_enabled_tables (relation)
	SELECT t.relid::pg_catalog.regclass FROM @extschema@.ndag_tables t
	WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c
				  WHERE c.oid OPERATOR(pg_catalog.=) t.relid)
	ON CONFLICT DO NOTHING;
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'the tables enabled for learning could not be copied into ndag_enabled_tables: %', SQLERRM
		USING HINT = 'Preload neural_dag (shared_preload_libraries) and enable the tables again with ruvector_enable_neural_dag().';
END
$$;

-- ---------------------------------------------------------------------------
-- 0.2.0: recorded executions for a DBA (readers of ndag_trajectories: pg_read_all_stats
-- or neural_dag_admin): a picture of one with the default plan beside the
-- arm's, and the history of a statement
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_dag_visualize(traj_id bigint DEFAULT NULL,
	query_id bigint DEFAULT NULL, format text DEFAULT 'dot')
RETURNS text
AS 'MODULE_PATHNAME', 'ruvector_dag_visualize_execution'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_visualize(bigint, bigint, text) IS
	'A recorded execution (traj_id, or the latest of query_id) as Graphviz dot, Mermaid or JSON: the default plan and the arm''s plan side by side (the other side is the latest recorded execution of the same query_id that ran the other way), rows estimated and actual per loop, loops and self time per node, misestimates (10x either way) and the bottleneck (largest self time) marked';

CREATE FUNCTION ruvector_dag_history(query_id bigint,
	OUT executed_at timestamptz, OUT latency_ms double precision,
	OUT planning_ms double precision, OUT arm_id integer, OUT arm_name text,
	OUT decision text, OUT pattern_id bigint, OUT traj_id bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ruvector_dag_history'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ruvector_dag_history(bigint) IS
	'The recorded executions (trajectories) of one statement of this database, oldest first: when, latency and planning time, arm, decision source, pattern and traj_id';

