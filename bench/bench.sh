#!/bin/bash
# make bench: every overhead benchmark (recording, planning, pgbench, the
# same short statements counted in instructions, then
# start-up, which prints its own figures against its goals), then ONE table
# of the first four's figures against the goals of the overhead issue: the
# median ratio (or difference) with its quartiles and the A-against-A noise
# of the same run.  NDAG_BENCH_QUICK=1 runs fewer, shorter rounds (under
# 20 minutes on a 2-core machine).  Prints figures, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp /tmp/neural_dag-bench-results.XXXXXX)
trap 'rm -f "$results"' EXIT
chmod a+w "$results"
export NDAG_BENCH_RESULTS=$results

for b in recording_overhead planning_overhead pgbench_overhead instructions_overhead; do
	echo "== bench/$b.sh"
	bash "bench/$b.sh"
done
# a new connection's cost against its goals (printed by the script itself)
echo "== bench/startup_overhead.sh"
NDAG_BENCH_ROUNDS=${NDAG_BENCH_ROUNDS:-$([ "${NDAG_BENCH_QUICK:-0}" = 1 ] && echo 3 || echo 6)} \
	bash bench/startup_overhead.sh

echo
echo "== overhead figures (median [quartiles], A/A = two identical configurations, the noise)"
awk -F '\t' '
	# met or NOT met by the median; "(within quartiles)" when the goal lies
	# between the quartiles, where this run cannot tell
	function met(v, lo, hi, g,   op, x, r) {
		if (g !~ /^(<=|>=) [-+0-9.]+$/) return ""
		op = substr(g, 1, 2); x = substr(g, 4) + 0
		r = ((op == "<=" && v <= x) || (op == ">=" && v >= x)) ? "met" : "NOT met"
		if (lo + 0 <= x && x <= hi + 0) r = r " (within quartiles)"
		return r
	}
	BEGIN { printf "%-58s %9s %21s %9s %10s %s\n", "figure", "median", "quartiles", "A/A", "goal", "" }
	{ printf "%-58s %9s %21s %9s %10s %s\n", $1, $2, "[" $3 ", " $4 "]", $5, $6, met($2, $3, $4, $6) }' "$results"
