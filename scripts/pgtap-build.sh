#!/bin/bash
# Build pgTAP's SQL into a PostgreSQL prefix that Debian has no pgtap
# package for (PostgreSQL 18 built by scripts/pg-build.sh), from the
# upstream tarball of Debian's pgtap source package (sid, trixie).
# Usage: pgtap-build.sh PG_CONFIG    e.g. pgtap-build.sh /usr/local/pgsql-18/bin/pg_config
# Reused when the prefix already has pgtap.control.  pg_prove comes from
# Debian's libtap-parser-sourcehandler-pgtap-perl (lib.sh installs it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pg_config=${1:?pgtap-build.sh: which pg_config}
ext=$("$pg_config" --sharedir)/extension
[[ -f $ext/pgtap.control ]] && { echo "pgTAP already in $ext"; exit 0; }

work=$(mktemp -d /tmp/pgtap-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
ndag_fetch_upstream_source pgtap "" "$work"
tar -xf pgtap_*.orig.tar.*
cd pgtap-*/
make -s PG_CONFIG="$pg_config" >"$work/make.log" 2>&1 || { tail -n 20 "$work/make.log" >&2; exit 1; }
make -s install PG_CONFIG="$pg_config" >>"$work/make.log" 2>&1 || { tail -n 20 "$work/make.log" >&2; exit 1; }
echo "pgTAP $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ext/pgtap.control") installed in $ext"
