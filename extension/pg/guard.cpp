#include "guard.hpp"

#include <cstring>
#include <new>
#include <string>

#include "error.hpp"

namespace pgfolio::pg {

namespace {
// The memory context current when the innermost running entry point was called. It lives
// until that call returns or raises, so an error copied there survives the unwinding of every
// C++ frame in between (SPI sessions delete their contexts on the way). NULL outside entries.
MemoryContext entry_context = nullptr;
}  // namespace

void throw_pg_error(MemoryContext caller_context) {
  // The error data lives in ErrorContext, which the next error would reuse: copy it out
  // before the stack unwinds.
  MemoryContextSwitchTo(entry_context ? entry_context : caller_context);
  ErrorData* data = CopyErrorData();
  FlushErrorState();
  MemoryContextSwitchTo(caller_context);
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

// Copies text, truncated to fit, and never in the middle of a UTF-8 sequence: an error
// message reaches clients that reject invalid UTF-8.
void copy_text(char* target, std::size_t size, const char* text) {
  if (!text) text = "";
  std::size_t length = std::strlen(text);
  if (length >= size) {
    length = size - 1;
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  }
  std::memcpy(target, text, length);
  target[length] = '\0';
}

// The details are a JSON object that clients parse: one too long to keep whole is replaced,
// never cut.
void copy_details(char* target, std::size_t size, const std::string& details_json) {
  copy_text(target, size,
            details_json.size() < size ? details_json.c_str() : R"({"truncated":true})");
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
  // Entries nest (an entry's SQL may call another), so the outer one's context comes back
  // when this one returns or raises; the body itself never leaves by longjmp.
  MemoryContext outer_entry_context = entry_context;
  entry_context = CurrentMemoryContext;
  pending = PendingError{};
  try {
    Datum result = body(fcinfo);
    entry_context = outer_entry_context;
    return result;
  } catch (const PgError& e) {
    pending.pg_error = e.data();
  } catch (const Error& e) {
    pending.sqlstate = sqlstate_of(e.code());
    copy_text(pending.message, sizeof pending.message, e.what());
    copy_details(pending.detail, sizeof pending.detail, e.details_json());
  } catch (const std::bad_alloc&) {
    pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
    copy_text(pending.message, sizeof pending.message, "pgfolio: out of memory");
  } catch (const std::exception& e) {
    pending.sqlstate = sqlstate_of(ErrorCode::INTERNAL_ERROR);
    // copy_text, not snprintf: a long what() must not be cut inside a UTF-8 sequence.
    constexpr char kPrefix[] = "pgfolio internal error: ";
    constexpr std::size_t kPrefixLength = sizeof kPrefix - 1;
    std::memcpy(pending.message, kPrefix, kPrefixLength);
    copy_text(pending.message + kPrefixLength, sizeof pending.message - kPrefixLength, e.what());
  } catch (...) {
    pending.sqlstate = sqlstate_of(ErrorCode::INTERNAL_ERROR);
    copy_text(pending.message, sizeof pending.message, "pgfolio internal error");
  }
  entry_context = outer_entry_context;
  // Every C++ object of the body is destroyed by now: raising here unwinds nothing of ours.
  raise(pending);
}

}  // namespace pgfolio::pg
