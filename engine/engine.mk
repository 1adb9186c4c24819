# engine/: plain C + cblas, no PostgreSQL header; unit tests print TAP.
ENGINE_SRCS = $(sort $(wildcard engine/*.c))
ENGINE_TEST_SRCS = $(sort $(wildcard engine/test/test_*.c))
ENGINE_TEST_BINS = $(ENGINE_TEST_SRCS:.c=)
ENGINE_BENCH_BINS = bench/engine bench/learning
