# pgfolio's build, run and test entry points.
#
#   make run    set up everything on this machine and start PostgreSQL + pgfolio-http
#   make test   every suite against a throwaway cluster
#   make stop | psql | bench | install | clean
#
# The PostgreSQL module is built by PGXS (PostgreSQL's own extension build); everything else
# (core library, GoogleTest suite, pgfolio-http) by CMake into build/.

EXTENSION   = pgfolio
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pgfolio.control)
MODULE_big  = pgfolio
CORE_SRCS   = $(sort $(wildcard extension/core/*.cpp))
PG_SRCS     = $(sort $(wildcard extension/pg/*.cpp))
OBJS        = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
SQL_PARTS   = $(sort $(wildcard sql/[0-9]*.sql)) $(sort $(wildcard jobs/*.sql))
EXTRA_CLEAN = build
SHLIB_LINK  = -lstdc++ -lcrypto

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Our code is C++17 and warning-free; PostgreSQL's headers come in as system headers so their
# own warnings don't count. PGXS's default -I for them is replaced with -isystem.
PG_INCLUDES := $(includedir_server) $(includedir_internal)
override CPPFLAGS := -Iextension/core -Iextension/pg $(addprefix -isystem ,$(PG_INCLUDES)) \
  $(filter-out $(addprefix -I,$(PG_INCLUDES)),$(CPPFLAGS))
override CXXFLAGS += -std=c++17 -Wall -Wextra -Werror
# PGXS also compiles every source to LLVM bitcode with clang for JIT inlining, with flags that
# lack a C++ standard: give it ours.
override BITCODE_CXXFLAGS += -std=c++17
# Debian's PostgreSQL is built without dependency tracking, so PGXS would not rebuild an object
# when a header it includes changes: track them ourselves.
override CXXFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN += $(OBJS:.o=.d)

$(DATA_built): $(SQL_PARTS) pgfolio.control
	cat $(SQL_PARTS) > $@

.PHONY: deps build cmake-build run stop psql test bench

deps:
	@scripts/deps.sh

cmake-build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j2

build: all cmake-build

run: deps
	@scripts/run.sh

stop:
	@scripts/stop.sh

psql:
	@scripts/psql.sh

test: deps
	@scripts/test.sh

bench: deps
	@scripts/bench.sh
