// The error firewall between C++ and PostgreSQL (docs/architecture.md, "C++ inside
// PostgreSQL").
//
// PostgreSQL reports errors with longjmp (ereport), C++ with exceptions; neither may cross
// the other's frames. Two pieces keep them apart:
//  - pg_guard(fn) runs a call INTO PostgreSQL inside PG_TRY; a PostgreSQL error is copied out
//    and rethrown as the C++ exception PgError, so C++ destructors run normally. fn itself must
//    own no C++ objects with destructors (a longjmp out of it skips them): it calls PostgreSQL
//    with plain values and returns.
//  - PGFOLIO_FUNCTION(name) defines an SQL-callable entry point whose body is ordinary C++;
//    every exception is caught at the boundary and raised as a PostgreSQL error only after all
//    C++ frames that own objects are gone.
// The only calls made unguarded are those that cannot raise: pfree, MemoryContextSwitchTo,
// MemoryContextReset and MemoryContextDelete (on contexts we created), and the Datum macros.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "postgres.hpp"

namespace pgfolio::pg {

// A PostgreSQL error caught by pg_guard, carried through C++ frames to the entry point,
// where it is rethrown unchanged (same SQLSTATE, message, detail). C++ code on the way may
// clean up (destructors, closing a cursor) but must never swallow it: PostgreSQL is consistent
// again (locks, buffers, SPI) only once the error is re-raised and the (sub)transaction aborts.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* data) : data_(data) {}
  const char* what() const noexcept override { return data_->message ? data_->message : ""; }
  ErrorData* data() const { return data_; }

 private:
  // palloc'd in the memory context that was current when the entry point was called, never in
  // the guarded call's: that one may be an SPI session's, which is deleted while the exception
  // unwinds, before the entry point re-raises the error.
  ErrorData* data_;
};

[[noreturn]] void throw_pg_error(MemoryContext caller_context);

namespace detail {

// The one PG_TRY of the firewall. fn returns nothing; pg_guard passes results out by reference,
// so no variable of this frame is written between setjmp and a possible longjmp.
template <typename Fn>
void guarded_call(Fn& fn) {
  MemoryContext caller_context = CurrentMemoryContext;
  bool failed = false;
  // A C++ exception must not leave PG_TRY by unwinding: PostgreSQL's error stack would keep
  // pointing into this dead frame. It is held and rethrown once PG_END_TRY has run.
  std::exception_ptr cpp_error;
  std::exception_ptr* cpp_error_slot = &cpp_error;
  PG_TRY();
  {
    try {
      fn();
    } catch (...) {
      *cpp_error_slot = std::current_exception();
    }
  }
  PG_CATCH();
  { failed = true; }
  PG_END_TRY();
  if (failed) throw_pg_error(caller_context);
  if (cpp_error) std::rethrow_exception(cpp_error);
}

}  // namespace detail

// Runs fn (a call into PostgreSQL) and returns its result; a PostgreSQL error it raises comes
// out as PgError.
template <typename Fn>
decltype(auto) pg_guard(Fn&& fn) {
  if constexpr (std::is_void_v<decltype(fn())>) {
    detail::guarded_call(fn);
  } else {
    decltype(fn()) result{};
    auto assign = [&] { result = fn(); };
    detail::guarded_call(assign);
    return result;
  }
}

// Throws PgError (57014 and friends) when the backend has a cancel, timeout or termination
// pending. Installed as the core's interrupt checker.
void check_for_interrupts();

using EntryBody = Datum (*)(FunctionCallInfo);

// Runs body and converts whatever it throws into a PostgreSQL error. Never returns by
// exception; returns body's Datum or raises with ereport/ReThrowError.
Datum run_entry(FunctionCallInfo fcinfo, EntryBody body);

}  // namespace pgfolio::pg

// Defines the SQL-callable C function `name` (LANGUAGE c, AS 'MODULE_PATHNAME', 'name') with
// a C++ body behind the firewall:
//   PGFOLIO_FUNCTION(pgfolio_portfolio_valuation) { ...C++...; return datum; }
#define PGFOLIO_FUNCTION(name)                             \
  static Datum name##_body(FunctionCallInfo fcinfo);       \
  extern "C" {                                             \
  PG_FUNCTION_INFO_V1(name);                               \
  Datum name(PG_FUNCTION_ARGS) {                           \
    return ::pgfolio::pg::run_entry(fcinfo, &name##_body); \
  }                                                        \
  }                                                        \
  static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
