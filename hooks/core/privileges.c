/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  Who may change the learned state, who may read other users'
 *	  queries and who may run a self-healing check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"

#include "compat/compat_backend.h"
#include "core/core.h"
#include "store.h"

/*
 * NdagIsAdmin
 *		Superusers and members of neural_dag_admin may modify learned state.
 */
bool
NdagIsAdmin(Oid roleid)
{
	Oid			admin;

	if (superuser_arg(roleid))
		return true;
	admin = get_role_oid(STORE_ADMIN_ROLE, true);
	return OidIsValid(admin) && has_privs_of_role(roleid, admin);
}

/*
 * NdagRequireAdmin
 *		Error out unless the current user may modify learned state.
 */
void
NdagRequireAdmin(const char *action)
{
	if (!NdagIsAdmin(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", action),
				 errhint("Only superusers and members of role \"%s\" may change what neural_dag learned.",
						 STORE_ADMIN_ROLE)));
}

/*
 * NdagCanReadQueries
 *		Trajectories describe other users' statements: reading them needs
 *		pg_read_all_stats (as pg_stat_statements' query texts do) or the
 *		admin role.
 */
bool
NdagCanReadQueries(Oid roleid)
{
	return NdagIsAdmin(roleid) ||
		has_privs_of_role(roleid, ROLE_PG_READ_ALL_STATS);
}

/*
 * NdagRequireReadQueries
 *		Error out unless the current user may read relname's rows.
 */
void
NdagRequireReadQueries(const char *relname)
{
	if (!NdagCanReadQueries(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read \"%s\"", relname),
				 errhint("Rows of \"%s\" describe other users' statements; reading them needs pg_read_all_stats or membership in role \"%s\".",
						 relname, STORE_ADMIN_ROLE)));
}

/*
 * NdagRequireOwnerOrAdmin
 *		Error out unless the current user owns the current database (or is
 *		a member of its owner), is a member of neural_dag_admin or is a
 *		superuser.
 */
void
NdagRequireOwnerOrAdmin(const char *action)
{
	if (!NdagIsAdmin(GetUserId()) &&
		!NdagDatabaseOwnercheck(MyDatabaseId, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", action),
				 errhint("Only the database owner, members of role \"%s\" and superusers may %s.",
						 STORE_ADMIN_ROLE, action)));
}
