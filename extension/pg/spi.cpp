#include "spi.hpp"

#include <stdexcept>
#include <vector>

namespace pgfolio::pg {
namespace {

struct PreparedArgs {
  std::vector<Oid> types;
  std::vector<Datum> values;
  std::vector<char> nulls;  // SPI's convention: ' ' for a value, 'n' for NULL
};

PreparedArgs prepare(std::initializer_list<SpiArg> args) {
  PreparedArgs p;
  for (const SpiArg& a : args) {
    p.types.push_back(a.type);
    p.values.push_back(a.value);
    p.nulls.push_back(a.is_null ? 'n' : ' ');
  }
  return p;
}

}  // namespace

SpiSession::SpiSession() {
  int rc = pg_guard([] { return SPI_connect(); });
  if (rc != SPI_OK_CONNECT) throw std::runtime_error("SPI_connect failed");
}

SpiSession::~SpiSession() { SPI_finish(); }

std::uint64_t SpiSession::query(const char* sql, std::initializer_list<SpiArg> args) {
  PreparedArgs p = prepare(args);
  int nargs = static_cast<int>(p.types.size());
  Oid* types = p.types.data();
  Datum* values = p.values.data();
  const char* nulls = p.nulls.data();
  int rc = pg_guard([&] { return SPI_execute_with_args(sql, nargs, types, values, nulls, true, 0); });
  if (rc != SPI_OK_SELECT) throw std::runtime_error(std::string("SPI query failed: ") + sql);
  return SPI_processed;
}

std::uint64_t SpiSession::row_count() const { return SPI_tuptable ? SPI_processed : 0; }

Datum SpiSession::get(std::uint64_t row, int column, bool* is_null) const {
  HeapTuple tuple = SPI_tuptable->vals[row];
  TupleDesc desc = SPI_tuptable->tupdesc;
  return pg_guard([&] { return SPI_getbinval(tuple, desc, column, is_null); });
}

Datum SpiSession::get(std::uint64_t row, int column) const {
  bool is_null = false;
  Datum value = get(row, column, &is_null);
  if (is_null) throw std::logic_error("unexpected NULL in column " + std::to_string(column));
  return value;
}

Portal SpiSession::open_cursor(const char* sql, std::initializer_list<SpiArg> args) {
  PreparedArgs p = prepare(args);
  int nargs = static_cast<int>(p.types.size());
  Oid* types = p.types.data();
  Datum* values = p.values.data();
  const char* nulls = p.nulls.data();
  return pg_guard([&] {
    return SPI_cursor_open_with_args(nullptr, sql, nargs, types, values, nulls, true, 0);
  });
}

bool SpiSession::fetch(Portal portal, long rows) {
  pg_guard([&] {
    if (SPI_tuptable) SPI_freetuptable(SPI_tuptable);
    SPI_cursor_fetch(portal, true, rows);
  });
  return SPI_processed > 0;
}

void SpiSession::close_cursor(Portal portal) {
  pg_guard([&] { SPI_cursor_close(portal); });
}

}  // namespace pgfolio::pg
