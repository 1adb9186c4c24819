/*-------------------------------------------------------------------------
 *
 * compat_executor.h
 *	  Executor hook signatures across PostgreSQL versions.
 *
 * PostgreSQL 18 dropped ExecutorRun's execute_once argument (and so the
 * ExecutorRun hook's).  NDAG_EXECUTOR_RUN_ARGS declares the hook's
 * parameters, NDAG_EXECUTOR_RUN_PASS passes them on, and NdagExecutorRun
 * runs a plan to completion once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_EXECUTOR_H
#define NDAG_COMPAT_EXECUTOR_H

#include "executor/executor.h"

#if PG_VERSION_NUM >= 180000
#define NDAG_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define NDAG_EXECUTOR_RUN_PASS queryDesc, direction, count
#define NdagExecutorRun(qd, direction, count) \
	ExecutorRun((qd), (direction), (count))
#else
#define NDAG_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, \
	bool execute_once
#define NDAG_EXECUTOR_RUN_PASS queryDesc, direction, count, execute_once
#define NdagExecutorRun(qd, direction, count) \
	ExecutorRun((qd), (direction), (count), true)
#endif

#endif							/* NDAG_COMPAT_EXECUTOR_H */
