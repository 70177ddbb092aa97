// Running SQL from C++ through SPI, behind the firewall. One SpiSession per entry point:
// it connects on construction and disconnects on destruction, even when an exception
// unwinds. Anything palloc'd while connected is freed at disconnect, so results that must
// outlive the session are converted to C++ values first (or built after it ends).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "guard.hpp"

namespace pgfolio::pg {

struct SpiArg {
  Oid type;
  Datum value;
  bool is_null = false;
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

  std::uint64_t row_count() const;
  // The column's Datum (columns count from 1); is_null is set for SQL NULL.
  Datum get(std::uint64_t row, int column, bool* is_null) const;
  // The same for a column that is never NULL; a NULL there is an internal error.
  Datum get(std::uint64_t row, int column) const;

  // Streams a read-only query's rows in batches through a cursor, so millions of rows never
  // sit in memory at once. on_batch reads the current batch with row_count()/get().
  template <typename OnBatch>
  void stream(const char* sql, std::initializer_list<SpiArg> args, long batch_rows,
              OnBatch&& on_batch);

 private:
  Portal open_cursor(const char* sql, std::initializer_list<SpiArg> args);
  bool fetch(Portal portal, long rows);
  void close_cursor(Portal portal);
};

template <typename OnBatch>
void SpiSession::stream(const char* sql, std::initializer_list<SpiArg> args, long batch_rows,
                        OnBatch&& on_batch) {
  Portal portal = open_cursor(sql, args);
  try {
    while (fetch(portal, batch_rows)) on_batch();
  } catch (...) {
    close_cursor(portal);
    throw;
  }
  close_cursor(portal);
}

}  // namespace pgfolio::pg
