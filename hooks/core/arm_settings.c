/*-------------------------------------------------------------------------
 *
 * arm_settings.c
 *	  The planner settings of an arm: 'name=value, name=value'.
 *
 * An arm may set only planner settings: the planner method switches
 * (enable_*), the join search limits, geqo, the cost constants of pages,
 * tuples and operators, work_mem, max_parallel_workers_per_gather and jit.
 * Names are checked against PostgreSQL's own GUC table and values with its
 * own parsers and range checks (set_config_option with changeVal = false,
 * which changes nothing), so an arm that is stored can always be applied.
 * The rewriter uses NdagArmSettingsParse to get the (name, value) pairs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#include "compat/compat_guc.h"
#include "core/core.h"

/* Planner settings allowed besides the enable_* method switches. */
static const char *const planner_settings[] = {
	"join_collapse_limit",
	"from_collapse_limit",
	"geqo",
	"random_page_cost",
	"seq_page_cost",
	"cpu_tuple_cost",
	"cpu_index_tuple_cost",
	"cpu_operator_cost",
	"work_mem",
	"max_parallel_workers_per_gather",
	"jit",
	NULL
};

/* Context for errors raised while a value is checked. */
typedef struct SettingErrorContext
{
	const char *name;
	const char *value;
} SettingErrorContext;

/*
 * find_guc
 *		PostgreSQL's entry for a setting, or NULL if there is none
 *		(placeholders of unloaded extensions do not count).  Every arm of
 *		every backend is parsed at its first statement on an enabled table;
 *		the lookup itself depends on the version (compat_guc.h).
 */
static struct config_generic *
find_guc(const char *name)
{
	struct config_generic *found = NdagFindGucEntry(name);

	if (found == NULL || (found->flags & GUC_CUSTOM_PLACEHOLDER))
		return NULL;
	return found;
}

/*
 * is_planner_setting
 *		Whether a GUC is one an arm may set.
 */
static bool
is_planner_setting(const struct config_generic *gconf)
{
	if (strncmp(gconf->name, "enable_", 7) == 0 &&
		gconf->group == QUERY_TUNING_METHOD)
		return true;
	for (int i = 0; planner_settings[i] != NULL; i++)
	{
		if (strcmp(gconf->name, planner_settings[i]) == 0)
			return true;
	}
	return false;
}

/*
 * NdagArmSettingIsAllowed
 *		Whether name is a planner setting an arm may set.
 */
bool
NdagArmSettingIsAllowed(const char *name)
{
	struct config_generic *gconf = find_guc(name);

	return gconf != NULL && is_planner_setting(gconf);
}

/*
 * NdagArmSettingsAllowedList
 *		The allowed settings in words, for error hints.
 */
const char *
NdagArmSettingsAllowedList(void)
{
	static char *list = NULL;

	if (list == NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "the planner method settings enable_*");
		for (int i = 0; planner_settings[i] != NULL; i++)
			appendStringInfo(&buf, "%s%s",
							 planner_settings[i + 1] != NULL ? ", " : " and ",
							 planner_settings[i]);
		list = MemoryContextStrdup(TopMemoryContext, buf.data);
		pfree(buf.data);
	}
	return list;
}

/*
 * syntax_error
 *		Report malformed settings.
 */
static void
syntax_error(const char *settings, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid arm settings \"%s\"", settings),
			 errdetail_internal("%s", detail),
			 errhint("Write settings as name=value pairs separated by commas, for example 'enable_nestloop=off, work_mem=64MB'.")));
}

/*
 * skip_space
 *		Advance past white space.
 */
static const char *
skip_space(const char *p)
{
	while (*p && isspace((unsigned char) *p))
		p++;
	return p;
}

/*
 * check_name
 *		The canonical name of a setting an arm may set, or an error.
 */
static const char *
check_name(const char *name, List *seen)
{
	struct config_generic *gconf = find_guc(name);
	ListCell   *lc;

	if (gconf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized configuration parameter \"%s\" in arm settings",
						name),
				 errhint("An arm may set %s.", NdagArmSettingsAllowedList())));
	if (!is_planner_setting(gconf))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("configuration parameter \"%s\" is not a planner setting",
						gconf->name),
				 errhint("An arm may set %s.", NdagArmSettingsAllowedList())));

	foreach(lc, seen)
	{
		NdagArmSetting *s = (NdagArmSetting *) lfirst(lc);

		if (strcmp(s->name, gconf->name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("setting \"%s\" appears more than once in arm settings",
							gconf->name)));
	}
	return gconf->name;
}

/*
 * NdagArmSettingsParse
 *		Parse 'name=value, name=value' into a list of NdagArmSetting.
 *
 * White space around names, '=' and values is ignored; a value may be
 * single-quoted (doubling quotes inside) to hold commas or spaces.  Names
 * must be allowed planner settings and appear once; they come back in
 * canonical form.  Values are not checked here: see
 * NdagArmSettingsValidate.  An empty string is the empty list (the
 * default configuration).
 */
List *
NdagArmSettingsParse(const char *settings)
{
	List	   *result = NIL;
	const char *p = skip_space(settings);

	if (*p == '\0')
		return NIL;

	for (;;)
	{
		const char *start;
		char	   *name;
		StringInfoData value;
		NdagArmSetting *s;

		p = skip_space(p);
		start = p;
		while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '.'))
			p++;
		if (p == start)
			syntax_error(settings, *p ? psprintf("Expected a setting name at \"%s\".", p)
						 : "Expected a setting name at the end.");
		name = pnstrdup(start, p - start);

		p = skip_space(p);
		if (*p != '=')
			syntax_error(settings, psprintf("Expected \"=\" after \"%s\".", name));
		p = skip_space(p + 1);

		initStringInfo(&value);
		if (*p == '\'')
		{
			for (p++;; p++)
			{
				if (*p == '\0')
					syntax_error(settings, psprintf("Unterminated quoted value of \"%s\".", name));
				if (*p == '\'')
				{
					if (p[1] != '\'')
						break;
					p++;
				}
				appendStringInfoChar(&value, *p);
			}
			p = skip_space(p + 1);
		}
		else
		{
			start = p;
			while (*p && *p != ',')
				p++;
			appendBinaryStringInfo(&value, start, p - start);
			while (value.len > 0 && isspace((unsigned char) value.data[value.len - 1]))
				value.data[--value.len] = '\0';
		}
		if (value.len == 0)
			syntax_error(settings, psprintf("Missing value of \"%s\".", name));

		s = palloc(sizeof(NdagArmSetting));
		s->name = pstrdup(check_name(name, result));
		s->value = value.data;
		result = lappend(result, s);

		if (*p == '\0')
			break;
		if (*p != ',')
			syntax_error(settings, psprintf("Expected \",\" after the value of \"%s\".", name));
		p++;
	}
	return result;
}

/*
 * setting_error_callback
 *		Name the arm setting whose value PostgreSQL rejects.
 */
static void
setting_error_callback(void *arg)
{
	SettingErrorContext *ctx = (SettingErrorContext *) arg;

	errcontext("arm setting \"%s=%s\"", ctx->name, ctx->value);
}

/*
 * NdagArmSettingsValidate
 *		Check each value with PostgreSQL's own parser and bounds, without
 *		changing anything; an unparsable or out-of-range value raises
 *		PostgreSQL's error for it (ERRCODE_INVALID_PARAMETER_VALUE).
 */
void
NdagArmSettingsValidate(List *settings)
{
	SettingErrorContext ctx;
	ErrorContextCallback errcallback;
	ListCell   *lc;

	errcallback.callback = setting_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	foreach(lc, settings)
	{
		NdagArmSetting *s = (NdagArmSetting *) lfirst(lc);

		ctx.name = s->name;
		ctx.value = s->value;
		(void) set_config_option(s->name, s->value,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, false /* changeVal */ ,
								 ERROR, false);
	}

	error_context_stack = errcallback.previous;
}

/*
 * needs_quotes
 *		Whether a value must be quoted to parse back as itself.
 */
static bool
needs_quotes(const char *value)
{
	size_t		len = strlen(value);

	if (len == 0 || isspace((unsigned char) value[0]) ||
		isspace((unsigned char) value[len - 1]))
		return true;
	return strchr(value, ',') != NULL || value[0] == '\'';
}

/*
 * NdagArmSettingsFormat
 *		The canonical text of a list of settings: 'name=value, ...', values
 *		quoted only where needed.  NdagArmSettingsParse reads it back.
 */
char *
NdagArmSettingsFormat(List *settings)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, settings)
	{
		NdagArmSetting *s = (NdagArmSetting *) lfirst(lc);

		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s=", s->name);
		if (needs_quotes(s->value))
		{
			appendStringInfoChar(&buf, '\'');
			for (const char *c = s->value; *c; c++)
			{
				if (*c == '\'')
					appendStringInfoChar(&buf, '\'');
				appendStringInfoChar(&buf, *c);
			}
			appendStringInfoChar(&buf, '\'');
		}
		else
			appendStringInfoString(&buf, s->value);
	}
	return buf.data;
}
