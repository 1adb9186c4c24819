/* neural_dag--0.2.0.sql: the full install of 0.2.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION neural_dag" to load this file. \quit

-- The SQL of this script and of its SQL functions names every function,
-- operator and relation with its schema (pg_catalog, or @extschema@ for the
-- extension's own), and SQL functions run with search_path = pg_catalog,
-- pg_temp: no object planted in a schema on a caller's search_path is ever
-- called.  The attention wrappers keep the caller's search_path: they plan
-- the caller's query text, whose names are the caller's.

-- ---------------------------------------------------------------------------
-- Role whose members may modify the learned state (roles are cluster-wide,
-- so it is created only when it does not exist yet).
-- ---------------------------------------------------------------------------
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
				   WHERE rolname OPERATOR(pg_catalog.=) 'neural_dag_admin') THEN
		CREATE ROLE neural_dag_admin NOLOGIN;
	END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Foreign data wrapper over the LMDB store
-- ---------------------------------------------------------------------------
CREATE FUNCTION neural_dag_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'neural_dag_fdw_handler'
LANGUAGE C STRICT;

CREATE FUNCTION neural_dag_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'neural_dag_fdw_validator'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER neural_dag_fdw
	HANDLER neural_dag_fdw_handler
	VALIDATOR neural_dag_fdw_validator;

CREATE SERVER neural_dag FOREIGN DATA WRAPPER neural_dag_fdw;

CREATE FOREIGN TABLE ndag_patterns (
	pattern_id		bigint NOT NULL,
	dbid			oid NOT NULL,
	relids			oid[],
	centroid		real[],
	best_arm		integer,
	gain			double precision,
	confidence		double precision,
	support			bigint,
	uses			bigint,
	last_used		timestamptz,
	pinned			boolean,
	disabled		boolean,
	created_at		timestamptz,
	demoted_arms	integer[],
	arm_stats		double precision[],
	quality_var		double precision
) SERVER neural_dag OPTIONS (store 'patterns');

CREATE FOREIGN TABLE ndag_trajectories (
	traj_id			bigint NOT NULL,
	recorded_at		timestamptz,
	dbid			oid NOT NULL,
	userid			oid,
	query_id		bigint,
	pattern_id		bigint,
	arm				integer,
	decision		text,
	attention		text,
	planning_us		double precision,
	exec_us			double precision,
	est_cost		double precision,
	predicted_ms	double precision,
	quality			double precision,
	relids			oid[],
	embedding		real[],
	indexes			oid[]
) SERVER neural_dag OPTIONS (store 'trajectories');

CREATE FOREIGN TABLE ndag_attention (
	traj_id			bigint NOT NULL,
	node_id			integer NOT NULL,
	dbid			oid NOT NULL,
	parent_ids		integer[],
	node_type		text,
	relation		regclass,
	mechanism		text,
	score			double precision,
	est_rows		double precision,
	actual_rows		double precision,
	loops			double precision,
	est_cost		double precision,
	self_ms			double precision,
	signature		bigint
) SERVER neural_dag OPTIONS (store 'nodes');

CREATE FOREIGN TABLE ndag_arms (
	arm_id			integer,
	name			text NOT NULL,
	settings		text NOT NULL,
	enabled			boolean,
	builtin			boolean,
	pulls			bigint,
	mean_reward		double precision
) SERVER neural_dag OPTIONS (store 'arms');

CREATE FOREIGN TABLE ndag_tables (
	relid			regclass NOT NULL,
	dbid			oid NOT NULL,
	enabled_at		timestamptz,
	settings		text
) SERVER neural_dag OPTIONS (store 'tables');

CREATE FOREIGN TABLE ndag_healing (
	event_id		bigint NOT NULL,
	dbid			oid NOT NULL,
	at				timestamptz,
	kind			text,
	object			text,
	detail			text,
	action			text,
	status			text,
	duration_ms		double precision
) SERVER neural_dag OPTIONS (store 'healing');

-- The indexes the plans of each pattern's chosen arm use (the self-healing
-- check revalidates the pattern when one is dropped, invalid or rebuilt).
CREATE FOREIGN TABLE ndag_index_meta (
	pattern_id		bigint NOT NULL,
	indexrelid		oid NOT NULL,
	dbid			oid NOT NULL,
	arm				integer,
	relid			oid,
	index_name		text,
	relfilenode		oid,
	valid			boolean,
	recorded_at		timestamptz
) SERVER neural_dag OPTIONS (store 'index_meta');

CREATE FOREIGN TABLE ndag_models (
	name			text NOT NULL,
	dbid			oid NOT NULL,
	version			integer,
	parameters		bigint,
	updates			bigint,
	loss			double precision,
	lambda			double precision,
	tasks			integer,
	trained_at		timestamptz
) SERVER neural_dag OPTIONS (store 'models');

-- Reading is open to everyone except for the tables that describe other
-- users' queries; the FDW enforces the same rules at scan and modify time.
GRANT SELECT ON ndag_patterns, ndag_arms, ndag_tables, ndag_healing, ndag_models,
	ndag_index_meta TO PUBLIC;
GRANT SELECT ON ndag_trajectories, ndag_attention TO pg_read_all_stats, neural_dag_admin;
GRANT UPDATE (pinned, disabled), DELETE ON ndag_patterns TO neural_dag_admin;
GRANT DELETE ON ndag_trajectories, ndag_healing TO neural_dag_admin;
GRANT INSERT (arm_id, name, settings, enabled), UPDATE (enabled) ON ndag_arms TO neural_dag_admin;

-- ---------------------------------------------------------------------------
-- Plan DAG attention: plan a query text (never execute it) and look at its DAG
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_attention_scores(query text, mechanism text DEFAULT 'auto',
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision,
	OUT mechanism_used text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ruvector_attention_scores'
LANGUAGE C VOLATILE;

CREATE FUNCTION ruvector_attention_topological(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'topological') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_causal_cone(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'causal_cone') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_critical_path(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'critical_path') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_mincut_gated(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'mincut_gated') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_hierarchical_lorentz(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'hierarchical_lorentz') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_parallel_branch(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'parallel_branch') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_temporal_btsp(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'temporal_btsp') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_attention_ensemble(query text,
	OUT node_id integer, OUT parent_ids integer[], OUT node_type text,
	OUT relation regclass, OUT est_rows double precision,
	OUT est_cost double precision, OUT score double precision)
RETURNS SETOF record
AS $$ SELECT node_id, parent_ids, node_type, relation, est_rows, est_cost, score
	  FROM @extschema@.ruvector_attention_scores(query, 'ensemble') $$
LANGUAGE sql VOLATILE;

CREATE FUNCTION ruvector_dag_mincut(query text,
	OUT child_id integer, OUT child_type text, OUT child_relation regclass,
	OUT parent_id integer, OUT parent_type text,
	OUT capacity double precision, OUT cut_value double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ruvector_dag_mincut'
LANGUAGE C VOLATILE;

CREATE FUNCTION ruvector_dag_visualize(query text, mechanism text DEFAULT 'auto',
	format text DEFAULT 'dot')
RETURNS text
AS 'MODULE_PATHNAME', 'ruvector_dag_visualize'
LANGUAGE C VOLATILE;

-- ---------------------------------------------------------------------------
-- Trajectory recording: write what the ring holds now (the learner worker
-- does it about once a second)
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_dag_flush()
RETURNS bigint
AS 'MODULE_PATHNAME', 'ruvector_dag_flush'
LANGUAGE C VOLATILE;

-- ---------------------------------------------------------------------------
-- Recorded executions for a DBA (readers of ndag_trajectories: pg_read_all_stats
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

-- ---------------------------------------------------------------------------
-- Self-healing: a check of the current database now, as the calling user
-- (the database owner, members of neural_dag_admin and superusers)
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_dag_heal(
	OUT event_id bigint, OUT at timestamptz, OUT kind text, OUT object text,
	OUT detail text, OUT action text, OUT status text,
	OUT duration_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ruvector_dag_heal'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ruvector_dag_heal() IS
	'Run the self-healing detectors (and, with ruvector.dag_healing_auto_repair, the repairs, with the caller''s rights) in a background worker; for the database owner, neural_dag_admin and superusers; returns the events it recorded in ndag_healing. Do not call it in a transaction holding locks a repair needs.';

-- ---------------------------------------------------------------------------
-- Learning: one cycle of the current database now (the learner worker runs
-- one every ruvector.dag_background_interval), the patterns of a table, the
-- HDC state
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_dag_learn()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ruvector_dag_learn'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_learn() IS
	'Flush recorded trajectories and run one learning cycle of the current database over those not learned from yet: pattern extraction, cost model training, HDC snapshot; returns what it did';

CREATE FUNCTION ruvector_dag_patterns(rel regclass DEFAULT NULL)
RETURNS SETOF @extschema@.ndag_patterns
AS $$
	SELECT p.* FROM @extschema@.ndag_patterns p
	WHERE p.dbid OPERATOR(pg_catalog.=)
		(SELECT d.oid FROM pg_catalog.pg_database d
		 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
	  AND ($1 IS NULL OR $1::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (p.relids))
	ORDER BY p.pattern_id
$$ LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ruvector_dag_patterns(regclass) IS
	'Learned patterns of the current database whose member statements used the table (all patterns for NULL)';

CREATE FUNCTION ruvector_dag_hdc_snapshot()
RETURNS bytea
AS 'MODULE_PATHNAME', 'ruvector_dag_hdc_snapshot'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_hdc_snapshot() IS
	'The newest 1,250-byte HDC snapshot of the learned state of the current database, NULL before the first learning cycle';

CREATE FUNCTION ruvector_dag_hdc_similarity(a bytea, b bytea)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ruvector_dag_hdc_similarity'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION ruvector_dag_hdc_similarity(bytea, bytea) IS
	'1 - Hamming distance / 10,000 of two HDC snapshots: 1 for the same state, about 0.5 for unrelated ones';

-- ---------------------------------------------------------------------------
-- Store management (section: foundation)
-- ---------------------------------------------------------------------------

CREATE FUNCTION ruvector_enable_neural_dag(rel regclass)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ruvector_enable_neural_dag'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_enable_neural_dag(regclass) IS
	'Learn from statements on this table (recorded in ndag_tables at commit); true if it was not enabled yet';

CREATE FUNCTION ruvector_disable_neural_dag(rel regclass)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ruvector_disable_neural_dag'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_disable_neural_dag(regclass) IS
	'Stop learning from statements on this table (at commit); true if it was enabled';

CREATE FUNCTION ruvector_dag_status()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ruvector_dag_status'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_status() IS
	'Mode, store path and sizes, reader slots, entries per store, generation and counters of neural_dag';

CREATE FUNCTION ruvector_dag_advice(
	OUT query_id bigint, OUT parameter_class text, OUT arm_id integer,
	OUT arm_name text, OUT speedup double precision, OUT pairs integer,
	OUT default_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ruvector_dag_advice'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_advice() IS
	'Statements of this database with an arm proven faster by paired runs (join pg_stat_statements on queryid = query_id): the arm, its paired speed-up, the pairs and the median default latency';

CREATE FUNCTION ruvector_dag_reset(store text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ruvector_dag_reset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_reset(text) IS
	'Remove learned state of the current database at commit: one store (patterns, trajectories, nodes, models, btsp, hdc, healing, index_meta, tables), all of them, or arms (back to the built-in catalogue); all, patterns, trajectories and btsp also clear the per-statement memory (baselines, arm runs, demotions) in shared memory; returns the records removed';

CREATE FUNCTION ruvector_dag_backup(path text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ruvector_dag_backup'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_backup(text) IS
	'Write a hot, consistent, compacted copy of the whole neural_dag store to a new server file; returns its size in bytes';

CREATE FUNCTION ruvector_dag_restore(path text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ruvector_dag_restore'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ruvector_dag_restore(text) IS
	'Validate a backup file, then replace the whole neural_dag store with it at once; returns the records restored';

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
