// Functions that misbehave on purpose, for the firewall tests. The module carries them, but
// only the pgfolio_test extension (tests/sql/pgfolio_test), installed by the test setup alone,
// declares them in SQL; a production database never exposes them.
#include <stdexcept>
#include <string>

#include "convert.hpp"
#include "error.hpp"
#include "interrupts.hpp"
#include "spi.hpp"

using namespace pgfolio;
using namespace pgfolio::pg;

namespace {

// Throws from `depth` frames down, each owning a heap-allocated string, so a leak or a skipped
// destructor would show in the memory test.
void throw_from_depth(const std::string& kind, int depth) {
  std::string frame_label = "frame " + std::to_string(depth) + std::string(64, '.');
  if (depth > 0) return throw_from_depth(kind, depth - 1);
  if (kind == "domain")
    throw Error(ErrorCode::NOT_FOUND, "thrown deep: " + frame_label, R"({"depth":0})");
  if (kind == "std") throw std::runtime_error("thrown deep: " + frame_label);
  if (kind == "bad_alloc") throw std::bad_alloc();
  // Thrown inside pg_guard's PG_TRY: PostgreSQL's error stack must be restored before the
  // exception goes on, or the next PostgreSQL error would jump into a dead frame.
  if (kind == "std_in_guard")
    pg_guard([&] { throw std::runtime_error("thrown in a guarded call: " + frame_label); });
  if (kind == "pg") {
    // A PostgreSQL error raised inside an SPI session, with a message longer than a memory
    // block: a copy of the error that did not outlive the session would come back as garbage.
    SpiSession spi;
    spi.query("SELECT repeat('x', 200000)::integer");
  }
  throw Error(ErrorCode::VALIDATION_ERROR, "unknown kind " + kind);
}

}  // namespace

PGFOLIO_FUNCTION(pgfolio_test_throw) {
  throw_from_depth(to_string(PG_GETARG_DATUM(0)), 20);
  return Datum(0);
}

// Spins in C++ until the backend is interrupted (query cancel or statement_timeout).
PGFOLIO_FUNCTION(pgfolio_test_spin) {
  Decimal total;
  Decimal step = Decimal::parse("0.000001");
  for (;;) {
    total = (total + step).rescale(6);
    check_interrupts();
  }
  return Datum(0);
}
