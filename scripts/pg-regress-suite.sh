#!/bin/bash
# PostgreSQL's own regression suite (src/test/regress) against temporary
# instances, first stock, then preloading neural_dag with every table enabled
# (ruvector.dag_all_tables):
#   observe mode: no difference from the stock server (same tests pass, and
#                 a test that fails on the stock server too gives the very same
#                 output, which happens when Debian no longer serves the source
#                 of the installed minor version and an older one is used);
#   learn mode:   no server process crashes.
# The hooks act only in databases that have the extension, so pg_regress
# creates it in the suite's database (--load-extension) in every run, the
# stock one too, where the library is not preloaded and its objects are
# inert: the runs differ only by what preloading the library changes.
# The source is fetched with apt-get source: for PostgreSQL 15 the installed
# Debian package's, for another version (18, built by scripts/pg-build.sh)
# the upstream tarball of the same minor version from Debian sid/trixie.
# The server is the one of pg_config on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

major=$(pg_config --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
work=${NDAG_PG_SUITE_DIR:-/tmp/neural_dag-pg-suite-$major}
src="$work/source"

# fetch_source_upstream: unpack the source of pg_config's exact version
# into $src once, from the upstream tarball of Debian's source package
fetch_source_upstream() {
	local version dl
	version=$(pg_config --version | sed 's/^PostgreSQL //')
	[ -f "$src/.version" ] && [ "$(cat "$src/.version")" = "$version" ] && return 0
	dl="$work/download"
	rm -rf "$dl"
	ndag_fetch_upstream_source "postgresql-$major" "$version-" "$dl"
	tar -xjf "$dl"/postgresql-"${major}"_*.orig.tar.bz2 -C "$dl"
	rm -rf "$src" && mv "$dl"/postgresql-"$major"*/ "$src" && rm -rf "$dl"
	echo "$version" >"$src/.version"
}

# fetch_source: unpack the installed postgresql-15 version's source into $src
# once (the suite's expected files must match the server's exact version)
fetch_source() {
	local installed dl
	if [ "$major" != 15 ]; then
		fetch_source_upstream
		return
	fi
	installed=$(dpkg-query -W -f='${Version}' postgresql-15)
	[ -f "$src/.version" ] && [ "$(cat "$src/.version")" = "$installed" ] && return 0
	if ! apt-cache showsrc postgresql-15 2>/dev/null | grep -qx "Version: $installed"; then
		as_root tee /etc/apt/sources.list.d/neural-dag-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		as_root apt-get update -qq
	fi
	command -v dpkg-source >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null
	dl="$work/download"
	rm -rf "$dl" && mkdir -p "$dl"
	# the security suite may list a version whose files it no longer serves:
	# then take the newest version that downloads
	for v in "$installed" $(apt-cache showsrc postgresql-15 | sed -n 's/^Version: //p' | sort -V -r); do
		(cd "$dl" && apt-get source -qq --download-only "postgresql-15=$v" >/dev/null 2>&1) && installed=$v && break
	done
	ls "$dl"/postgresql-15_*.orig.tar.bz2 >/dev/null
	tar -xjf "$dl"/postgresql-15_*.orig.tar.bz2 -C "$dl"
	rm -rf "$src" && mv "$dl"/postgresql-15*/ "$src" && rm -rf "$dl"
	echo "$installed" >"$src/.version"
}

# build_test_libraries: regress.so, autoinc.so and refint.so, which the suite loads
build_test_libraries() {
	local inc
	inc=$(pg_config --includedir-server)
	mkdir -p "$work/lib"
	for c in "$src/src/test/regress/regress.c" "$src/contrib/spi/autoinc.c" "$src/contrib/spi/refint.c"; do
		gcc -O1 -fPIC -shared -I"$inc" -o "$work/lib/$(basename "$c" .c).so" "$c"
	done
}

# run_suite MODE: the parallel schedule against a cluster of our own (MODE
# stock: without neural_dag); for the other modes, print the recording
# counters after the suite, so that a run that recorded nothing is noticed
run_suite() {
	local mode=$1 out="$work/out-$1" port rc=0
	rm -rf "$out" && mkdir -p "$out"
	chown -R "$(ndag_pg_user)" "$work"
	port=$(ndag_free_port 58432)
	as_pg initdb -D "$out/data" -A trust -U postgres --no-locale -E UTF8 >/dev/null
	cat >>"$out/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$out'
compute_query_id = regress
max_prepared_transactions = 2
CONF
	if [ "$mode" != stock ]; then
		cat >>"$out/data/postgresql.conf" <<CONF
shared_preload_libraries = 'neural_dag'
ruvector.dag_mode = '$mode'
ruvector.dag_all_tables = on
CONF
	fi
	as_pg pg_ctl -D "$out/data" -l "$out/postmaster.log" -w start >/dev/null
	as_pg "$(dirname "$(pg_config --pgxs)")/../test/regress/pg_regress" \
		--host="$out" --port="$port" --user=postgres --bindir="$(pg_config --bindir)" \
		--inputdir="$src/src/test/regress" --outputdir="$out" \
		--dlpath="$work/lib" --max-concurrent-tests=20 --load-extension=neural_dag \
		--schedule="$src/src/test/regress/parallel_schedule" >"$work/$mode.log" 2>&1 || rc=$?
	grep -E "tests (passed|failed)" "$work/$mode.log" || tail -5 "$work/$mode.log"
	if [ "$mode" != stock ]; then
		as_pg psql -X -q -At -h "$out" -p "$port" -U postgres -d regression \
			-c "CREATE EXTENSION IF NOT EXISTS neural_dag" \
			-c "SELECT 'flushed now: ' || ruvector_dag_flush()" \
			-c "SELECT 'recording counters: ' || (ruvector_dag_status()->'counters')::text" \
			-c "DO \$\$ BEGIN
					IF (ruvector_dag_status()->'counters'->>'recorded')::bigint = 0 THEN
						RAISE EXCEPTION 'the suite ran without anything being recorded';
					END IF;
				END \$\$" || { echo "== $mode mode: recording check FAILED"; check_failed=1; }
	fi
	as_pg pg_ctl -D "$out/data" -m fast -w stop >/dev/null || rc=1
	return $rc
}

mkdir -p "$work"
fetch_source
build_test_libraries

# failed_tests MODE: the tests that failed in a run, one per line (15's
# pg_regress writes "test x ... FAILED", 18's TAP output "not ok 7 + x")
failed_tests() {
	sed -n -e 's/^[ ]*\(test \)\?\([a-z0-9_]*\)[ ]*\.\.\. FAILED.*/\2/p' \
		-e 's/^not ok [0-9]*[ ]*[+-]\?[ ]*\([a-z0-9_]*\) .*/\1/p' \
		"$work/out-$1/regression.out" | sort
}

check_failed=0
status=0
echo "== PostgreSQL regression suite, stock server (version $(cat "$src/.version"))"
run_suite stock || true

echo "== PostgreSQL regression suite, neural_dag preloaded, observe mode"
run_suite observe || true
if [ "$(failed_tests stock)" != "$(failed_tests observe)" ]; then
	echo "== observe mode fails other tests than the stock server:"
	diff <(failed_tests stock) <(failed_tests observe) || true
	status=1
fi
for t in $(failed_tests stock); do
	if ! cmp -s "$work/out-stock/results/$t.out" "$work/out-observe/results/$t.out"; then
		echo "== observe mode changes the output of $t:"
		diff -u "$work/out-stock/results/$t.out" "$work/out-observe/results/$t.out" | head -40
		status=1
	fi
done
[ $status -eq 0 ] && echo "== observe mode: no difference from the stock server ($(ls "$work/out-observe/results" | wc -l) tests)"

echo "== PostgreSQL regression suite, neural_dag preloaded, learn mode"
run_suite learn || true
if grep -E "terminated by signal|PANIC" "$work/out-learn/postmaster.log"; then
	echo "== learn mode: a server process CRASHED"
	status=1
else
	echo "== learn mode: no crash"
fi
[ $check_failed -eq 0 ] || status=1
exit $status
