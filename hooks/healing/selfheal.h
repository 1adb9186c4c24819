/*-------------------------------------------------------------------------
 *
 * selfheal.h
 *	  Self-healing: the detectors that look at the catalogs and the store
 *	  of one database, the repairs of what they find, and the events that
 *	  record both.  The healer worker (workers/healing_worker.c) and
 *	  ruvector_dag_heal() (workers/healing_sql.c) drive them; the learning
 *	  cycle fills the index metadata the pattern_index detector reads; the
 *	  planner's regression guard records its demotions as events.
 *
 *	healing_detect.c	detectors over the catalogs: invalid, bloated and
 *						unused indexes, stale statistics (SPI)
 *	healing_store.c		detectors over the store (latency drift, trajectory
 *						budget, stale reader slots), unused-index baselines,
 *						the events DBI
 *	healing_patterns.c	the regressed_pattern detector; patching patterns
 *	index_meta.c		which indexes each pattern's plans use (written by
 *						the learning cycle), the pattern_index detector
 *	healing_repair.c	running one repair and recording its outcome
 *
 * (Named selfheal.h, not healing.h, because engine/healing.h is found
 * first by the files of this folder when they include "healing.h".)
 *
 * Uses core/.  Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_SELFHEAL_H
#define NDAG_SELFHEAL_H

/* ---------- constants ---------- */

/* first key of the advisory lock a repair holds on its object */
#define NDAG_HEAL_LOCK_CLASS	1852055911	/* 'ndag' */

/* ---------- types ---------- */

struct List;
struct StringInfoData;
struct StoreBatch;
struct NdagPatternBank;

/* What a healer is told when it is launched (its bgw_extra). */
typedef struct NdagHealParams
{
	Oid			userid;			/* role the healer connects as */
	bool		auto_repair;
	int			scope;			/* NdagHealScope */
	int			lock_timeout;	/* ms */
	int			statement_timeout;	/* ms */
	double		bloat_ratio;
	double		stale_ratio;
	int			stale_min_rows;
	bool		caller_snapshot;	/* a waiting caller keeps its snapshot */
	Oid			nologin_owner;	/* periodic check of a database whose owner
								 * may not log in: only say so */
} NdagHealParams;

/* What a repair does. */
typedef enum NdagHealRepair
{
	NDAG_HEAL_NONE,				/* nothing to run: a recommendation */
	NDAG_HEAL_SQL,				/* run sql as a top-level utility statement */
	NDAG_HEAL_READERS,			/* clear stale LMDB reader slots */
	NDAG_HEAL_TRIM,				/* delete the oldest trajectories */
	NDAG_HEAL_CONFIDENCE,		/* scale the confidence of patterns */
	NDAG_HEAL_DEMOTE			/* demote an arm of patterns */
} NdagHealRepair;

/* One finding of a detector, then the outcome of its repair. */
typedef struct NdagHealEvent
{
	const char *kind;			/* invalid_index, bloated_index, ... */
	char	   *object;			/* qualified name or description */
	char	   *detail;			/* figures */
	char	   *action;			/* what was or would be done */
	const char *status;			/* detected, repaired, failed, skipped, recommended */
	int64		at;				/* TimestampTz */
	NdagHealRepair repair;
	char	   *sql;			/* NDAG_HEAL_SQL: the statement */
	Oid			objid;			/* object of the advisory lock, or InvalidOid */
	Oid			relid;			/* table the object belongs to, or InvalidOid */
	bool		needs_owner;	/* the repair silently skips non-owners */
	bool		concurrent;		/* waits for older snapshots (REINDEX CONCURRENTLY) */
	int64		keep;			/* NDAG_HEAL_TRIM: trajectories to keep */
	int64	   *pattern_ids;	/* NDAG_HEAL_CONFIDENCE, _DEMOTE: patterns */
	int			npatterns;
	double		factor;			/* confidence multiplier */
	int			arm;			/* NDAG_HEAL_DEMOTE: the arm demoted */
	bool		has_duration;
	double		duration_ms;
} NdagHealEvent;

/* ---------- healing_detect.c: detectors over the catalogs (SPI, in a transaction) ---------- */

extern struct List *NdagHealDetectCatalog(const NdagHealParams *params,
										  struct List *enabled_relids);

/* ---------- healing_store.c: detectors over the store, events, baselines ---------- */

extern struct List *NdagHealEnabledRelids(void);
extern struct List *NdagHealDetectStore(const NdagHealParams *params);
extern void NdagHealPatternSummary(Oid relid, struct StringInfoData *out);
extern bool NdagHealIndexBaseline(Oid indexoid, int64 idx_scan,
								  int64 *since);
extern bool NdagHealIndexReported(Oid indexoid, int64 since);
extern int64 NdagHealEventCounter(void);
extern void NdagHealRecord(const NdagHealEvent *event);
extern int64 NdagHealTrim(int64 keep);
extern int64 NdagHealTrimEvents(int64 keep);

/* ---------- healing_patterns.c: the regressed_pattern detector, patching patterns ---------- */

extern struct List *NdagHealDetectRegressed(const NdagHealParams *params);
extern char *NdagHealPatchPatterns(const NdagHealEvent *event);

/* ---------- index_meta.c: index metadata of the patterns, the pattern_index detector ---------- */

extern void NdagIndexMetaUpdate(struct StoreBatch *batch, Oid dbid,
								const struct NdagPatternBank *bank,
								int64 last_traj_id);
extern struct List *NdagHealDetectPatternIndex(void);
extern void NdagIndexMetaRefresh(Oid indexrelid);

/* ---------- healing_repair.c: running one repair ---------- */

extern void NdagHealRun(NdagHealEvent *event, const NdagHealParams *params);

#endif							/* NDAG_SELFHEAL_H */
