/*-------------------------------------------------------------------------
 *
 * compat_backend.h
 *	  Permission checks, name parsing, varlena macros, shared transaction
 *	  state, backend fields and function attributes across PostgreSQL
 *	  versions.
 *
 * PostgreSQL 16 replaced pg_*_ownercheck by object_ownercheck and
 * ExecCheckRTPerms by ExecCheckPermissions (with the statement's
 * RTEPermissionInfo list), gave stringToQualifiedNameList an escontext,
 * moved the varlena macros to varatt.h and queryjumble.h to nodes/; 17
 * moved PGPROC's lxid into vxid and renamed ShmemVariableCache to
 * TransamVariables; 18 replaced pg_attribute_noreturn() (after the
 * declarator) by pg_noreturn (before the declaration).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_BACKEND_H
#define NDAG_COMPAT_BACKEND_H

#include "access/transam.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_database_d.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/regproc.h"

#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#include "varatt.h"
#else
#include "utils/queryjumble.h"
#endif

#if PG_VERSION_NUM >= 160000
#define NdagRelationOwnercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#define NdagDatabaseOwnercheck(dbid, roleid) \
	object_ownercheck(DatabaseRelationId, (dbid), (roleid))
#define NdagCheckPlanPermissions(stmt) \
	ExecCheckPermissions((stmt)->rtable, (stmt)->permInfos, true)
#define NdagQualifiedNameList(string) stringToQualifiedNameList((string), NULL)
#else
#define NdagRelationOwnercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#define NdagDatabaseOwnercheck(dbid, roleid) pg_database_ownercheck((dbid), (roleid))
#define NdagCheckPlanPermissions(stmt) ExecCheckRTPerms((stmt)->rtable, true)
#define NdagQualifiedNameList(string) stringToQualifiedNameList(string)
#endif

#if PG_VERSION_NUM >= 170000
#define NdagProcLxid(proc) ((proc)->vxid.lxid)
#define NdagTransamVariables TransamVariables
#else
#define NdagProcLxid(proc) ((proc)->lxid)
#define NdagTransamVariables ShmemVariableCache
#endif

#if PG_VERSION_NUM < 180000
#define pg_noreturn _Noreturn
#endif

#endif							/* NDAG_COMPAT_BACKEND_H */
