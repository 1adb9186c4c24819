-- The extension's objects and GUCs.
CREATE EXTENSION neural_dag;

SELECT c.relname, ft.ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 ORDER BY c.relname;

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'neural_dag_admin';

-- GUCs with their defaults and bounds
SELECT name, setting, unit, context, min_val, max_val, enumvals
  FROM pg_settings WHERE name LIKE 'ruvector.%' ORDER BY name;

-- bad values are refused
SET ruvector.dag_mode = 'sometimes';
SET ruvector.dag_attention_type = 'quantum';
SET ruvector.dag_attention_exploration = 1.5;
SET ruvector.dag_ucb_c = -1;
-- the prefix is reserved: a misspelt parameter is an error, not a new GUC
SET ruvector.dag_moode = 'learn';

SET ruvector.dag_mode = 'observe';
SHOW ruvector.dag_mode;
SET ruvector.dag_attention_type = 'critical_path';
SHOW ruvector.dag_attention_type;
RESET ALL;
