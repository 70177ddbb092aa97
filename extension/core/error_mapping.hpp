// Maps database errors onto the error catalog, in one place shared by pgfolio-http and the
// SQL documentation: a SQLSTATE decides the catalog row (and so the HTTP status), and the
// text libpq hands back for an error is split into the human message and the DETAIL field,
// which pgfolio's own errors use to carry a JSON object.
#pragma once

#include <string>
#include <string_view>

#include "error_catalog.hpp"

namespace pgfolio {

// The catalog row a SQLSTATE maps to. pgfolio's own class-PF states map to their row;
// PostgreSQL's states follow the table in docs/http.md; anything unknown (or malformed) is
// INTERNAL_ERROR, so a new kind of failure is never mistaken for the client's fault.
const ErrorCatalogEntry& map_sqlstate(std::string_view sqlstate);

// True for the states worth running the same transaction again for: serialization failure
// (40001) and deadlock (40P01). Both mean "a concurrent transaction won", not "you erred".
bool is_retryable_sqlstate(std::string_view sqlstate);

// True for states after which the session is unusable or the server is going away
// (class 08, 57P01-57P03): the connection must be discarded rather than reused.
bool is_connection_loss_sqlstate(std::string_view sqlstate);

// The primary message and the DETAIL of an error as libpq formats it with the default
// verbosity ("ERROR:  message\nDETAIL:  detail\nHINT:  ...\nCONTEXT:  ...").
struct DatabaseErrorText {
  std::string message;  // without the severity prefix
  std::string detail;   // empty when the error has no DETAIL line
};

DatabaseErrorText parse_libpq_error_message(std::string_view text);

}  // namespace pgfolio
