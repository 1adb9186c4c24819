/*-------------------------------------------------------------------------
 *
 * compat_guc.h
 *	  Looking up a setting's entry across PostgreSQL versions.
 *
 * PostgreSQL 16 exported find_option() and keeps the settings in a hash
 * table; PostgreSQL 15 has only the array of get_guc_variables(), sorted
 * by name, its length from GetNumConfigOptions().
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_GUC_H
#define NDAG_COMPAT_GUC_H

#include <stdlib.h>

#include "utils/guc.h"
#include "utils/guc_tables.h"

#if PG_VERSION_NUM < 160000
/*
 * ndag_guc_name_cmp
 *		bsearch order of GUC entries by name, case-insensitive as
 *		PostgreSQL 15 sorts them.
 */
static inline int
ndag_guc_name_cmp(const void *key, const void *entry)
{
	return pg_strcasecmp((const char *) key,
						 (*(struct config_generic *const *) entry)->name);
}
#endif

/*
 * NdagFindGucEntry
 *		PostgreSQL's entry for a setting (a placeholder included), or NULL.
 *		On 15, a binary search of the sorted array, confirmed on a miss by
 *		a linear scan, should the order ever differ.
 */
static inline struct config_generic *
NdagFindGucEntry(const char *name)
{
#if PG_VERSION_NUM >= 160000
	return find_option(name, false, true, ERROR);
#else
	struct config_generic **gucs = get_guc_variables();
	int			n = GetNumConfigOptions();
	struct config_generic **found;

	found = bsearch(name, gucs, n, sizeof(struct config_generic *),
					ndag_guc_name_cmp);
	for (int i = 0; found == NULL && i < n; i++)
	{
		if (pg_strcasecmp(gucs[i]->name, name) == 0)
			found = &gucs[i];
	}
	return found != NULL ? *found : NULL;
#endif
}

/*
 * NdagGucVariables
 *		Every setting's entry, *n of them, in name order (on 15 the array
 *		PostgreSQL keeps; from 16 a copy allocated in the current memory
 *		context).
 */
static inline struct config_generic **
NdagGucVariables(int *n)
{
#if PG_VERSION_NUM >= 160000
	return get_guc_variables(n);
#else
	*n = GetNumConfigOptions();
	return get_guc_variables();
#endif
}

#endif							/* NDAG_COMPAT_GUC_H */
