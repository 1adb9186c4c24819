#!/bin/bash
# Every set-up step, then every test suite: the include layering check, the
# engine unit tests (plain and under valgrind), then against PostgreSQL 15
# (Debian's packages) and PostgreSQL 18 (built from Debian's source into
# /usr/local/pgsql-18 by scripts/pg-build.sh, once; pgTAP's SQL built into
# it by scripts/pgtap-build.sh): pg_regress, pgTAP, Perl TAP and
# PostgreSQL's own regression suite.  NDAG_PG18=0 skips PostgreSQL 18.
# Exits non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ndag_install_packages
ndag_build_install

work=$(ndag_workdir "$PWD")
pg18_prefix=${NDAG_PG18_PREFIX:-/usr/local/pgsql-18}
passed=0
failed=0

# run_suite NAME CMD...: run one suite and count it
run_suite() {
	local name=$1
	shift
	echo "== $name"
	if "$@"; then
		echo "== $name: passed"
		passed=$((passed + 1))
	else
		echo "== $name: FAILED"
		failed=$((failed + 1))
	fi
}

# regress: pg_regress against a temporary preloading instance, diffs on failure
regress() {
	if as_pg make -C "$work" -s installcheck; then
		return 0
	fi
	cat "$work/regression.diffs" 2>/dev/null || true
	return 1
}

# pg18_setup: PostgreSQL 18 and pgTAP built into its prefix (each reused
# when already there), the extension built in a copy of the tree of its
# own and installed there; $work then names that copy
pg18_setup() {
	bash scripts/pg-build.sh 18 "$pg18_prefix" &&
		bash scripts/pgtap-build.sh "$pg18_prefix/bin/pg_config" || return 1
	work=$(mktemp -d /tmp/neural_dag-run18.XXXXXX)
	tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude='*.d' --exclude=tmp_check --exclude=tmp_check_regress -cf - . |
		tar -xf - -C "$work"
	make -C "$work" -s PG_CONFIG="$pg18_prefix/bin/pg_config" NDAG_CFLAGS="$NDAG_CFLAGS_STRICT" &&
		make -C "$work" -s install PG_CONFIG="$pg18_prefix/bin/pg_config" \
			NDAG_CFLAGS="$NDAG_CFLAGS_STRICT" >/dev/null || return 1
	chown -R "$(ndag_pg_user)" "$work"
}

# server_suites VERSION: the suites that run against a server
server_suites() {
	run_suite "PostgreSQL $1: pg_regress" regress
	run_suite "PostgreSQL $1: pgTAP" as_pg bash "$work/scripts/run-pgtap.sh"
	run_suite "PostgreSQL $1: Perl TAP" as_pg make -C "$work" -s tapcheck
	run_suite "PostgreSQL $1: PostgreSQL regression suite with neural_dag preloaded" \
		bash scripts/pg-regress-suite.sh
}

run_suite "include layering" bash scripts/check-layers.sh
run_suite "engine unit tests" make -s engine-check
run_suite "engine unit tests under valgrind" make -s engine-valgrind
server_suites 15

if [ "${NDAG_PG18:-1}" != 0 ]; then
	echo "== PostgreSQL 18"
	if run_suite "PostgreSQL 18: build and install" pg18_setup; then
		export NDAG_PG_BIN="$pg18_prefix/bin" PATH="$pg18_prefix/bin:$PATH"
		server_suites 18
	fi
fi

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
