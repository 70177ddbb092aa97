// The one error catalog of pgfolio, shared by the extension and pgfolio-http.
//
// Each row: the stable code clients match on, the HTTP status it maps to, the SQLSTATE the
// database raises it with, and a short human title. SQL reaches the same rows through
// pgfolio.error_catalog (a view over a C++ set-returning function), so PL/pgSQL raises
// exactly these SQLSTATEs and the HTTP server maps them back without a second list.
// pgfolio's own SQLSTATEs live in class "PF", which PostgreSQL does not use.
#pragma once

#include <string_view>

namespace pgfolio {

#define PGFOLIO_ERROR_CATALOG(X)                                                           \
  X(VALIDATION_ERROR, 400, "PF400", "The request is not valid")                           \
  X(UNAUTHORIZED, 401, "PF401", "Authentication is required")                             \
  X(FORBIDDEN, 403, "PF403", "Not allowed")                                               \
  X(NOT_FOUND, 404, "PF404", "Not found")                                                 \
  X(METHOD_NOT_ALLOWED, 405, "PF405", "Method not allowed")                               \
  X(CONFLICT, 409, "PF409", "Conflict with the current state")                            \
  X(LEDGER_IMMUTABLE, 409, "PF410", "Ledger entries and checkpoints cannot be changed")   \
  X(PAYLOAD_TOO_LARGE, 413, "PF413", "Request body too large")                            \
  X(UNSUPPORTED_MEDIA_TYPE, 415, "PF415", "Unsupported media type")                       \
  X(MISSING_PRICE, 422, "PF422", "A price needed for the computation is missing")         \
  X(MISSING_FX_RATE, 422, "PF423", "An exchange rate needed for the computation is missing") \
  X(NUMERIC_OVERFLOW, 422, "PF424", "A number is out of the supported range")             \
  X(INSUFFICIENT_CASH, 422, "PF425", "Not enough cash in the portfolio")                   \
  X(RATE_LIMITED, 429, "PF429", "Too many requests")                                      \
  X(INTERNAL_ERROR, 500, "PF500", "Internal error")                                       \
  X(SERVICE_UNAVAILABLE, 503, "PF503", "Service temporarily unavailable")

enum class ErrorCode {
#define PGFOLIO_ERROR_ENUM(code, status, sqlstate, title) code,
  PGFOLIO_ERROR_CATALOG(PGFOLIO_ERROR_ENUM)
#undef PGFOLIO_ERROR_ENUM
};

struct ErrorCatalogEntry {
  ErrorCode code;
  std::string_view name;
  int http_status;
  std::string_view sqlstate;
  std::string_view title;
};

inline constexpr ErrorCatalogEntry kErrorCatalog[] = {
#define PGFOLIO_ERROR_ROW(code, status, sqlstate, title) \
  {ErrorCode::code, #code, status, sqlstate, title},
    PGFOLIO_ERROR_CATALOG(PGFOLIO_ERROR_ROW)
#undef PGFOLIO_ERROR_ROW
};

inline constexpr const ErrorCatalogEntry& catalog_entry(ErrorCode code) {
  return kErrorCatalog[static_cast<int>(code)];
}

// Finds the entry raised with a pgfolio SQLSTATE; nullptr for any other SQLSTATE.
inline const ErrorCatalogEntry* find_by_sqlstate(std::string_view sqlstate) {
  for (const auto& entry : kErrorCatalog)
    if (entry.sqlstate == sqlstate) return &entry;
  return nullptr;
}

inline const ErrorCatalogEntry* find_by_name(std::string_view name) {
  for (const auto& entry : kErrorCatalog)
    if (entry.name == name) return &entry;
  return nullptr;
}

}  // namespace pgfolio
