/*-------------------------------------------------------------------------
 *
 * compat_fdw.h
 *	  Planner and ANALYZE calls of the foreign data wrapper across
 *	  PostgreSQL versions.
 *
 * create_foreignscan_path gained fdw_restrictinfo in 17 and disabled_nodes
 * in 18; build_expression_pathkey lost nullable_relids in 16;
 * vacuum_delay_point takes is_analyze from 18; lc_collate_is_c is gone in
 * 18 (the collation's locale says it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_FDW_H
#define NDAG_COMPAT_FDW_H

#include "commands/vacuum.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "utils/pg_locale.h"

#if PG_VERSION_NUM >= 180000
#define NdagCreateForeignscanPath(root, rel, target, rows, startup, total, \
								  pathkeys, outer, outerpath, private) \
	create_foreignscan_path((root), (rel), (target), (rows), 0, (startup), \
							(total), (pathkeys), (outer), (outerpath), NIL, \
							(private))
#elif PG_VERSION_NUM >= 170000
#define NdagCreateForeignscanPath(root, rel, target, rows, startup, total, \
								  pathkeys, outer, outerpath, private) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), \
							(total), (pathkeys), (outer), (outerpath), NIL, \
							(private))
#else
#define NdagCreateForeignscanPath(root, rel, target, rows, startup, total, \
								  pathkeys, outer, outerpath, private) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), \
							(total), (pathkeys), (outer), (outerpath), \
							(private))
#endif

#if PG_VERSION_NUM >= 160000
#define NdagBuildExpressionPathkey(root, expr, opno, rel) \
	build_expression_pathkey((root), (expr), (opno), (rel), false)
#else
#define NdagBuildExpressionPathkey(root, expr, opno, rel) \
	build_expression_pathkey((root), (expr), NULL, (opno), (rel), false)
#endif

#if PG_VERSION_NUM >= 180000
#define NdagAnalyzeDelayPoint() vacuum_delay_point(true)
#else
#define NdagAnalyzeDelayPoint() vacuum_delay_point()
#endif

#if PG_VERSION_NUM >= 180000
#define NdagCollationIsC(collid) \
	(pg_newlocale_from_collation(collid)->collate_is_c)
#else
#define NdagCollationIsC(collid) lc_collate_is_c(collid)
#endif

#endif							/* NDAG_COMPAT_FDW_H */
