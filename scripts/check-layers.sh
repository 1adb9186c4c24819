#!/bin/bash
# Checks the include graph of the C sources against the layering of the tree
# and exits non-zero, naming each offending #include, on a violation:
#   1. engine/ includes only engine/ headers, the C standard library,
#      cblas and dlfcn.h (engine/blas.c loads OpenBLAS): no PostgreSQL
#      header (nor anything else);
#   2. only lmdb_store/ includes lmdb.h;
#   3. a folder includes only headers of its own folder and of the folders
#      below it in LAYERS (a folder on the same line is not below).
# An #include "x" is resolved as the compiler does: against the including
# file's folder, then the -I$(srcdir)/... folders of the Makefile and
# engine/engine-rules.mk ("core/core.h" against hooks/); one that resolves to
# no file of the tree is a PostgreSQL or system header.
# Usage: bash scripts/check-layers.sh  (from anywhere; reads the tree only)
set -euo pipefail
cd "$(dirname "$0")/.."

# The folders from the bottom up; folders on one line are on the same level.
# A file belongs to the longest folder of the list its path starts with;
# folders that do not exist are skipped, files of other folders (bench/,
# t/, ...) are not checked.
LAYERS=(
	"engine"
	"hooks/compat"
	"lmdb_store"
	"hooks/core"
	"hooks/plandag"
	"hooks/healing"
	"hooks/learning"
	"hooks/planner"
	"hooks/shadow"
	"hooks/recording"
	"hooks/workers"
	"hooks/init"
	"fdw"
)

# What engine/ may include besides its own headers: the C standard library
# (C11), cblas and dlfcn.h.
ENGINE_SYSTEM_HEADERS="assert.h complex.h ctype.h errno.h fenv.h float.h
inttypes.h iso646.h limits.h locale.h math.h setjmp.h signal.h stdalign.h
stdarg.h stdatomic.h stdbool.h stddef.h stdint.h stdio.h stdlib.h
stdnoreturn.h string.h tgmath.h threads.h time.h uchar.h wchar.h wctype.h
cblas.h dlfcn.h"

# the folders searched for #include "x" after the including file's own
mapfile -t INCLUDE_DIRS < <(grep -ho -- '-I\$(srcdir)[^[:space:]]*' Makefile engine/*.mk |
	sed -e 's|^-I\$(srcdir)/*||' -e 's|^$|.|' | awk '!seen[$0]++')

# level NAME: the line of LAYERS holding folder NAME, or nothing
level() {
	local i f
	for i in "${!LAYERS[@]}"; do
		for f in ${LAYERS[$i]}; do
			[ "$f" = "$1" ] && { echo "$i"; return; }
		done
	done
}

# folder_of PATH: the longest existing folder of LAYERS that PATH lies in
folder_of() {
	local best="" f
	for f in ${LAYERS[*]}; do
		[ -d "$f" ] || continue
		case "$1" in
		"$f"/*) [ ${#f} -gt ${#best} ] && best=$f ;;
		esac
	done
	echo "$best"
}

# resolve FILE NAME: the tree path #include "NAME" in FILE reads, or nothing
resolve() {
	local d
	for d in "$(dirname "$1")" "${INCLUDE_DIRS[@]}"; do
		if [ -f "$d/$2" ]; then
			realpath -m --relative-to=. "$d/$2"
			return
		fi
	done
}

violations=0
n_files=0
n_includes=0

# report FILE LINE NAME WHY: one violation
report() {
	echo "check-layers: $1:$2: #include $3: $4"
	violations=$((violations + 1))
}

for top in ${LAYERS[*]}; do
	[ -d "$top" ] || continue
	while IFS= read -r file; do
		folder=$(folder_of "$file")
		[ "$folder" = "$top" ] || continue	# listed under a deeper folder
		n_files=$((n_files + 1))
		my_level=$(level "$folder")
		while IFS=: read -r line text; do
			n_includes=$((n_includes + 1))
			[[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([<\"][^>\"]*[>\"]) ]] || continue
			name=${BASH_REMATCH[1]}
			bare=${name:1:${#name}-2}
			if [ "$(basename "$bare")" = "lmdb.h" ] && [ "$folder" != "lmdb_store" ]; then
				report "$file" "$line" "$name" "only lmdb_store/ includes lmdb.h"
				continue
			fi
			target=""
			[ "${name:0:1}" = '"' ] && target=$(resolve "$file" "$bare")
			if [ -z "$target" ]; then
				# a PostgreSQL or system header
				if [ "$folder" = "engine" ] &&
					! grep -qw -- "$bare" <<<"$ENGINE_SYSTEM_HEADERS"; then
					report "$file" "$line" "$name" "engine/ includes no PostgreSQL or other outside header (only engine/ headers, the C standard library, cblas and dlfcn.h)"
				fi
				continue
			fi
			to_folder=$(folder_of "$target")
			[ -z "$to_folder" ] && [ "$folder" = "engine" ] &&
				{ report "$file" "$line" "$name" "engine/ includes only engine/ headers, the C standard library, cblas and dlfcn.h"; continue; }
			[ -z "$to_folder" ] || [ "$to_folder" = "$folder" ] && continue
			to_level=$(level "$to_folder")
			if [ "$to_level" -ge "$my_level" ]; then
				report "$file" "$line" "$name" "$folder/ may include only folders below it, and $to_folder/ is not below it (LAYERS in scripts/check-layers.sh)"
			fi
		done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" || true)
	done < <(find "$top" -type f \( -name '*.c' -o -name '*.h' \) | sort)
done

if [ "$violations" -gt 0 ]; then
	echo "check-layers: $violations layering violation(s) in $n_files files"
	exit 1
fi
echo "check-layers: $n_files files, $n_includes includes, no layering violation"
