#!/bin/bash
# Build pgTAP's SQL into a PostgreSQL prefix that Debian has no pgtap
# package for (PostgreSQL 18 built by scripts/pg-build.sh), from the
# upstream tarball of Debian's pgtap source package (sid, trixie).
# Usage: pgtap-build.sh PG_CONFIG    e.g. pgtap-build.sh /usr/local/pgsql-18/bin/pg_config
# Reused when the prefix already has pgtap.control.  pg_prove comes from
# Debian's libtap-parser-sourcehandler-pgtap-perl (lib.sh installs it).
set -euo pipefail
pg_config=${1:?pgtap-build.sh: which pg_config}
ext=$("$pg_config" --sharedir)/extension
[[ -f $ext/pgtap.control ]] && { echo "pgTAP already in $ext"; exit 0; }

work=$(mktemp -d /tmp/pgtap-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat >"$work/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt=(-o "Dir::Etc::sourcelist=$work/src.sources" -o Dir::Etc::sourceparts=- \
     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
apt-get "${apt[@]}" update -qq
cd "$work"
# only the upstream tarball is needed: a Debian part that is no longer
# served does not matter
for v in $(apt-cache "${apt[@]}" showsrc pgtap | sed -n 's/^Version: //p' | sort -V -r -u); do
  apt-get "${apt[@]}" source -qq --download-only "pgtap=$v" >/dev/null 2>&1 || true
  ls pgtap_*.orig.tar.* >/dev/null 2>&1 && break
done
ls pgtap_*.orig.tar.* >/dev/null 2>&1 || { echo "no pgtap source could be downloaded" >&2; exit 1; }
tar -xf pgtap_*.orig.tar.*
cd pgtap-*/
make -s PG_CONFIG="$pg_config" >"$work/make.log" 2>&1 || { tail -n 20 "$work/make.log" >&2; exit 1; }
make -s install PG_CONFIG="$pg_config" >>"$work/make.log" 2>&1 || { tail -n 20 "$work/make.log" >&2; exit 1; }
echo "pgTAP $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ext/pgtap.control") installed in $ext"
