// Running SQL from C++ through SPI, behind the firewall. One SpiSession per entry point:
// it connects on construction and disconnects on destruction, even when an exception
// unwinds. Anything palloc'd while connected is freed at disconnect, so results that must
// outlive the session are converted to C++ values first (or built after it ends).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "guard.hpp"

namespace pgfolio::pg {

struct SpiArg {
  Oid type;
  Datum value;
  bool is_null = false;
};

// A read-only query run on every call of an entry point: planned once per backend (on first
// use, with SPI_prepare and SPI_keepplan) instead of parsed and planned on each call.
// PostgreSQL's plan cache revalidates the saved plan, re-planning it when a table it uses
// changes or the role or search_path it was planned under differs. Define one per query, with
// static storage duration:
//   SavedQuery kHoldings{"SELECT ... WHERE portfolio_id = $1", {UUIDOID}};
class SavedQuery {
 public:
  SavedQuery(const char* sql, std::initializer_list<Oid> arg_types)
      : sql_(sql), arg_types_(arg_types) {}
  SavedQuery(const SavedQuery&) = delete;
  SavedQuery& operator=(const SavedQuery&) = delete;

 private:
  friend class SpiSession;
  const char* sql_;
  std::vector<Oid> arg_types_;
  SPIPlanPtr plan_ = nullptr;  // kept in a backend-lifetime memory context once prepared
};

class SpiSession {
 public:
  SpiSession();
  ~SpiSession();
  SpiSession(const SpiSession&) = delete;
  SpiSession& operator=(const SpiSession&) = delete;

  // Runs a read-only query; its rows stay readable through row_count()/get() until the
  // next query.
  std::uint64_t query(const char* sql, std::initializer_list<SpiArg> args = {});
  // The same with a saved plan; args must match the query's argument types.
  std::uint64_t query(SavedQuery& query, std::initializer_list<SpiArg> args = {});

  std::uint64_t row_count() const;
  // The column's Datum (columns count from 1); is_null is set for SQL NULL.
  Datum get(std::uint64_t row, int column, bool* is_null) const;
  // The same for a column that is never NULL; a NULL there is an internal error.
  Datum get(std::uint64_t row, int column) const;

  // Streams a read-only query's rows in batches through a cursor, so millions of rows never
  // sit in memory at once. on_batch reads the current batch with row_count()/get().
  template <typename OnBatch>
  void stream(SavedQuery& query, std::initializer_list<SpiArg> args, long batch_rows,
              OnBatch&& on_batch);

 private:
  SPIPlanPtr plan(SavedQuery& query, std::initializer_list<SpiArg> args);
  Portal open_cursor(SavedQuery& query, std::initializer_list<SpiArg> args);
  bool fetch(Portal portal, long rows);
  void close_cursor(Portal portal);
};

template <typename OnBatch>
void SpiSession::stream(SavedQuery& query, std::initializer_list<SpiArg> args, long batch_rows,
                        OnBatch&& on_batch) {
  Portal portal = open_cursor(query, args);
  try {
    while (fetch(portal, batch_rows)) on_batch();
  } catch (...) {
    close_cursor(portal);
    throw;
  }
  close_cursor(portal);
}

}  // namespace pgfolio::pg
