/*-------------------------------------------------------------------------
 *
 * store_readers.c
 *	  Counting the reader slots of the LMDB environment that belong to
 *	  processes which no longer exist, without clearing them (the
 *	  self-healing check reports them before StoreReaderCheck clears them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "store_int.h"

/*
 * store_count_stale
 *		mdb_reader_list callback: count the slot lines ("pid thread txnid")
 *		whose pid no longer exists.
 */
static int
store_count_stale(const char *msg, void *ctx)
{
	char	   *end;
	long		pid;

	while (*msg == ' ')
		msg++;
	if (*msg < '0' || *msg > '9')
		return 0;				/* the header or "(no active readers)" */
	pid = strtol(msg, &end, 10);
	if (end == msg || pid <= 0)
		return 0;
	if (kill((pid_t) pid, 0) != 0 && errno == ESRCH)
		(*(int *) ctx)++;
	return 0;
}

/*
 * StoreStaleReaders
 *		The number of reader slots held by dead processes.
 */
int
StoreStaleReaders(void)
{
	int			stale = 0;
	int			rc;

	StoreEnsureOpen();
	rc = mdb_reader_list(StoreGetEnv(), store_count_stale, &stale);
	if (rc < 0)
		StoreReportError(ERROR, rc, "list the neural_dag store's readers");
	return stale;
}
