#!/bin/bash
# Every set-up step, then every test suite: the include layering check, the
# engine unit tests (plain and under valgrind), pg_regress, pgTAP and Perl TAP.
# Exits non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ndag_install_packages
ndag_build_install

work=$(ndag_workdir "$PWD")
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

run_suite "include layering" bash scripts/check-layers.sh
run_suite "engine unit tests" make -s engine-check
run_suite "engine unit tests under valgrind" make -s engine-valgrind
run_suite "pg_regress" regress
run_suite "pgTAP" as_pg bash "$work/scripts/run-pgtap.sh"
run_suite "Perl TAP" as_pg make -C "$work" -s tapcheck
run_suite "PostgreSQL regression suite with neural_dag preloaded" bash scripts/pg-regress-suite.sh

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
