#include "spi.hpp"

#include <stdexcept>
#include <string>
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

SpiSession::~SpiSession() {
  SPI_finish();
}

std::uint64_t SpiSession::query(const char* sql, std::initializer_list<SpiArg> args) {
  PreparedArgs p = prepare(args);
  int nargs = static_cast<int>(p.types.size());
  Oid* types = p.types.data();
  Datum* values = p.values.data();
  const char* nulls = p.nulls.data();
  int rc =
      pg_guard([&] { return SPI_execute_with_args(sql, nargs, types, values, nulls, true, 0); });
  if (rc != SPI_OK_SELECT) throw std::runtime_error(std::string("SPI query failed: ") + sql);
  return SPI_processed;
}

std::uint64_t SpiSession::row_count() const {
  return SPI_tuptable ? SPI_processed : 0;
}

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

SPIPlanPtr SpiSession::plan(SavedQuery& query, std::initializer_list<SpiArg> args) {
  if (args.size() != query.arg_types_.size())
    throw std::logic_error(std::string("wrong number of arguments for ") + query.sql_);
  std::size_t i = 0;
  for (const SpiArg& a : args)
    if (a.type != query.arg_types_[i++])
      throw std::logic_error(std::string("wrong argument type for ") + query.sql_);
  if (!query.plan_) {
    const char* sql = query.sql_;
    int nargs = static_cast<int>(query.arg_types_.size());
    Oid* types = query.arg_types_.data();
    query.plan_ = pg_guard([&] {
      SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
      // SPI_prepare reports most failures by ereport; the rest (a NULL plan) are SPI_result.
      if (plan == nullptr)
        elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
      // Moves the plan out of this session's memory, which SPI_finish frees.
      SPI_keepplan(plan);
      return plan;
    });
  }
  return query.plan_;
}

std::uint64_t SpiSession::query(SavedQuery& query, std::initializer_list<SpiArg> args) {
  SPIPlanPtr saved = plan(query, args);
  PreparedArgs p = prepare(args);
  Datum* values = p.values.data();
  const char* nulls = p.nulls.data();
  int rc = pg_guard([&] { return SPI_execute_plan(saved, values, nulls, true, 0); });
  if (rc != SPI_OK_SELECT) throw std::runtime_error(std::string("SPI query failed: ") + query.sql_);
  return SPI_processed;
}

Portal SpiSession::open_cursor(SavedQuery& query, std::initializer_list<SpiArg> args) {
  SPIPlanPtr saved = plan(query, args);
  PreparedArgs p = prepare(args);
  Datum* values = p.values.data();
  const char* nulls = p.nulls.data();
  return pg_guard([&] { return SPI_cursor_open(nullptr, saved, values, nulls, true); });
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
