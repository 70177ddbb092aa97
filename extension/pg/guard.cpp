#include "guard.hpp"

#include <cstdio>
#include <new>

#include "error.hpp"

namespace pgfolio::pg {

void throw_pg_error(MemoryContext caller_context) {
  // The error data lives in ErrorContext, which the next error would reuse: copy it out
  // before the stack unwinds.
  MemoryContextSwitchTo(caller_context);
  ErrorData* data = CopyErrorData();
  FlushErrorState();
  throw PgError(data);
}

void check_for_interrupts() {
  if (INTERRUPTS_PENDING_CONDITION()) pg_guard([] { ProcessInterrupts(); });
}

namespace {

// What a caught C++ exception becomes: fixed-size plain storage, because it is filled inside
// a catch block, where nothing may allocate with palloc (an out-of-memory longjmp from there
// would leave the C++ runtime's caught exception dangling) and nothing may need a destructor.
struct PendingError {
  ErrorData* pg_error = nullptr;  // rethrown as it is when set
  int sqlstate = 0;
  char message[1024] = {0};
  char detail[4096] = {0};
};

void copy_text(char* target, std::size_t size, const char* text) {
  std::snprintf(target, size, "%s", text ? text : "");
}

int sqlstate_of(ErrorCode code) {
  const auto& s = catalog_entry(code).sqlstate;
  return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

[[noreturn]] void raise(const PendingError& pending) {
  if (pending.pg_error) ReThrowError(pending.pg_error);
  if (pending.detail[0] != '\0')
    ereport(ERROR, (errcode(pending.sqlstate), errmsg("%s", pending.message),
                    errdetail_internal("%s", pending.detail)));
  ereport(ERROR, (errcode(pending.sqlstate), errmsg("%s", pending.message)));
  pg_unreachable();
}

}  // namespace

Datum run_entry(FunctionCallInfo fcinfo, EntryBody body) {
  static PendingError pending;  // static: too large for every call's stack frame
  pending = PendingError{};
  try {
    return body(fcinfo);
  } catch (const PgError& e) {
    pending.pg_error = e.data();
  } catch (const Error& e) {
    pending.sqlstate = sqlstate_of(e.code());
    copy_text(pending.message, sizeof pending.message, e.what());
    copy_text(pending.detail, sizeof pending.detail, e.details_json().c_str());
  } catch (const std::bad_alloc&) {
    pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
    copy_text(pending.message, sizeof pending.message, "pgfolio: out of memory");
  } catch (const std::exception& e) {
    pending.sqlstate = sqlstate_of(ErrorCode::INTERNAL_ERROR);
    std::snprintf(pending.message, sizeof pending.message, "pgfolio internal error: %s",
                  e.what());
  } catch (...) {
    pending.sqlstate = sqlstate_of(ErrorCode::INTERNAL_ERROR);
    copy_text(pending.message, sizeof pending.message, "pgfolio internal error");
  }
  // Every C++ object of the body is destroyed by now: raising here unwinds nothing of ours.
  raise(pending);
}

}  // namespace pgfolio::pg
