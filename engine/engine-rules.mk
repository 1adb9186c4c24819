# engine/: rules for the engine's unit tests and benchmark.  Included by the
# top Makefile after PGXS, so OPENBLAS_LIB is known.
#
#   make engine-check      build engine/test/test_*.c and run them with prove
#   make engine-valgrind   the same binaries under valgrind (fewer seeds), but
#                          test_costcycles: ten learning cycles of thousands of
#                          training steps take over 20 minutes there, and the
#                          code they run is test_costmodel's and test_learn's
#   make bench-engine      build and run bench/engine
#   make bench-learning    build and run bench/learning

ENGINE_CC ?= gcc
ENGINE_WARN = -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
	-Wdeclaration-after-statement -Werror=vla -Wpointer-arith \
	-Wimplicit-fallthrough=3 -Wformat-security
ENGINE_TEST_CFLAGS = -std=gnu99 -O2 -g -fno-strict-aliasing -fwrapv $(ENGINE_WARN) \
	-I$(srcdir)/engine -I$(srcdir)/engine/test -DNDAG_OPENBLAS_LIB='"$(OPENBLAS_LIB)"'
ENGINE_LINK = -lm
ENGINE_VALGRIND_SEEDS ?= 60

# Each binary is compiled from its own source and every engine source in one
# command, where -MMD would keep the headers of the last source only; so the
# recipe asks the compiler for the headers of all of them (-MM) into the
# binary's .d file, which make reads back.  A binary built before it had a .d
# file depends on every engine header, once.
ENGINE_BUILD = $(ENGINE_CC) $(ENGINE_TEST_CFLAGS) -o $@ $< $(ENGINE_SRCS) $(ENGINE_LINK) && \
	$(ENGINE_CC) $(ENGINE_TEST_CFLAGS) -MM -MP -MT $@ $< $(ENGINE_SRCS) > $@.d
ENGINE_DEPS = $(addsuffix .d,$(ENGINE_TEST_BINS) $(ENGINE_BENCH_BINS))
-include $(ENGINE_DEPS)
ENGINE_HEADERS = $(wildcard engine/*.h engine/test/*.h)
$(foreach b,$(ENGINE_TEST_BINS) $(ENGINE_BENCH_BINS),$(if $(wildcard $(b).d),,$(eval $(b): $(ENGINE_HEADERS))))

engine/test/test_%: engine/test/test_%.c $(ENGINE_SRCS)
	$(ENGINE_BUILD)

bench/engine: bench/engine.c $(ENGINE_SRCS)
	$(ENGINE_BUILD)

bench/learning: bench/learning.c $(ENGINE_SRCS)
	$(ENGINE_BUILD)

.PHONY: engine-check engine-valgrind bench-engine bench-learning

engine-check: $(ENGINE_TEST_BINS)
	prove $(PROVE_FLAGS) $(ENGINE_TEST_BINS)

ENGINE_VALGRIND_BINS = $(filter-out engine/test/test_costcycles,$(ENGINE_TEST_BINS))

engine-valgrind: $(ENGINE_VALGRIND_BINS)
	NDAG_TEST_SEEDS=$(ENGINE_VALGRIND_SEEDS) prove $(PROVE_FLAGS) \
		--exec 'valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite' \
		$(ENGINE_VALGRIND_BINS)

bench-engine: bench/engine
	./bench/engine

bench-learning: bench/learning
	./bench/learning
