# neural_dag: PGXS build of one library from fdw/, hooks/, engine/, lmdb_store/.

MODULE_big = neural_dag
EXTENSION = neural_dag
DATA = $(wildcard sql/neural_dag--*.sql)

SRCS = $(sort $(wildcard hooks/*/*.c fdw/*.c lmdb_store/*.c)) $(ENGINE_SRCS)
OBJS = $(SRCS:.c=.o)

# OpenBLAS: the serial build, so that no BLAS thread starts inside a
# PostgreSQL process (DESIGN.md section 11); loaded by this path in the
# processes that make large products (engine/blas.h), not linked.
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OPENBLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-serial
OPENBLAS_LIB = $(OPENBLAS_DIR)/libopenblas.so.0

# hooks/ headers are named by folder ("core/core.h", "planner/planner.h"),
# the way PostgreSQL's are ("utils/guc.h")
PG_CPPFLAGS = -I$(srcdir)/hooks -I$(srcdir)/engine -I$(srcdir)/lmdb_store -I$(srcdir)/fdw \
	-DNDAG_OPENBLAS_LIB='"$(OPENBLAS_LIB)"'
PG_CFLAGS = $(NDAG_CFLAGS)
SHLIB_LINK = -llmdb -lm

# pg_regress against a temporary instance that preloads the library
REGRESS = extension $(filter-out extension,$(patsubst sql/%.sql,%,$(sort $(filter-out sql/neural_dag--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --temp-config=$(srcdir)/t/regress.conf --temp-instance=$(CURDIR)/tmp_check_regress --inputdir=$(srcdir)

EXTRA_CLEAN = tmp_check tmp_check_regress results regression.diffs regression.out log $(ENGINE_TEST_BINS) $(ENGINE_BENCH_BINS)

include engine/engine.mk

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
include engine/engine-rules.mk

# Header dependencies (PGXS tracks none without --enable-depend): the
# compiler writes the headers each object includes into a .d file beside it
# (-MMD; -MP adds an empty rule per header, so that a removed header does not
# stop make) and make reads them back, so a changed header rebuilds exactly
# the objects that include it.  The flags go to the objects only: the LLVM
# bitcode files are compiled by another rule (BITCODE_CFLAGS, CPPFLAGS) and
# would overwrite the same .d files; a bitcode file is rebuilt with its
# object.  An object built before it had a .d file depends on every header,
# once.
NDAG_DEPS = $(OBJS:.o=.d)
$(OBJS): override CFLAGS += -MMD -MP
-include $(NDAG_DEPS)
$(OBJS:.o=.bc): %.bc: %.o
NDAG_HEADERS = $(wildcard hooks/*.h hooks/*/*.h fdw/*.h lmdb_store/*.h engine/*.h)
$(foreach o,$(OBJS),$(if $(wildcard $(o:.o=.d)),,$(eval $(o): $(NDAG_HEADERS))))
EXTRA_CLEAN += $(NDAG_DEPS) $(ENGINE_DEPS)

PG_BINDIR := $(shell $(PG_CONFIG) --bindir)
PG_PERL_LIB := $(dir $(PGXS))../../src/test/perl

# Perl TAP suites (PostgreSQL::Test::Cluster) in t/*.pl; the modules of
# PostgreSQL 15 place their files by TESTDIR, those of 18 by TESTDATADIR
# and TESTLOGDIR (relative to the current directory without them)
.PHONY: tapcheck pgtapcheck engine-check
tapcheck:
	rm -rf $(CURDIR)/tmp_check && mkdir -p $(CURDIR)/tmp_check
	TESTDIR='$(CURDIR)' TESTDATADIR='$(CURDIR)/tmp_check' TESTLOGDIR='$(CURDIR)/tmp_check/log' \
		PATH="$(PG_BINDIR):$$PATH" PG_REGRESS=$(dir $(PGXS))../../src/test/regress/pg_regress \
		prove -I $(PG_PERL_LIB) -I $(srcdir)/t $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),t/*.pl)

# overhead benchmarks (recording, planning, pgbench) and one table against
# their goals; NDAG_BENCH_QUICK=1 for a short run
.PHONY: bench
bench:
	bash $(srcdir)/bench/bench.sh

# workload benchmark: demo and TPC-H-like workloads, stock / oracle / learned
.PHONY: bench-workload
bench-workload:
	bash $(srcdir)/bench/workload.sh

# pgTAP suites in t/*.sql, run by pg_prove against a throwaway preloaded cluster
pgtapcheck:
	bash $(srcdir)/scripts/run-pgtap.sh
