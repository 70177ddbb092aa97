#include "error_mapping.hpp"

#include <array>

namespace pgfolio {
namespace {

bool is_sqlstate_shape(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  for (char c : sqlstate)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

bool in_class(std::string_view sqlstate, std::string_view sqlstate_class) {
  return sqlstate.substr(0, 2) == sqlstate_class;
}

}  // namespace

const ErrorCatalogEntry& map_sqlstate(std::string_view sqlstate) {
  if (!is_sqlstate_shape(sqlstate)) return catalog_entry(ErrorCode::INTERNAL_ERROR);

  if (in_class(sqlstate, "PF")) {
    const ErrorCatalogEntry* own = find_by_sqlstate(sqlstate);
    return own ? *own : catalog_entry(ErrorCode::INTERNAL_ERROR);
  }

  // Class 22 (data exception): the client sent a value PostgreSQL could not take, e.g. a
  // malformed uuid (22P02), a number out of range (22003) or a bad timestamp (22007/22008).
  if (in_class(sqlstate, "22")) return catalog_entry(ErrorCode::VALIDATION_ERROR);

  if (sqlstate == "23514" || sqlstate == "23502")  // check / not-null violation
    return catalog_entry(ErrorCode::VALIDATION_ERROR);
  if (sqlstate == "23505") return catalog_entry(ErrorCode::CONFLICT);  // unique violation
  // A foreign key violation means the request referred to an id that does not exist.
  if (sqlstate == "23503") return catalog_entry(ErrorCode::NOT_FOUND);
  if (sqlstate == "42501") return catalog_entry(ErrorCode::FORBIDDEN);

  // Transient: timeouts, lost races after the retries ran out, connection trouble, lack of
  // resources and a server shutting down. The client may try again later.
  if (sqlstate == "57014" || is_retryable_sqlstate(sqlstate) || in_class(sqlstate, "08") ||
      in_class(sqlstate, "53") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03")
    return catalog_entry(ErrorCode::SERVICE_UNAVAILABLE);

  return catalog_entry(ErrorCode::INTERNAL_ERROR);
}

bool is_retryable_sqlstate(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

bool is_connection_loss_sqlstate(std::string_view sqlstate) {
  return (sqlstate.size() == 5 && in_class(sqlstate, "08")) || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

namespace {

// The field labels libpq puts at the start of a line after the primary message.
constexpr std::array<std::string_view, 7> kFieldLabels = {
    "DETAIL:  ", "HINT:  ", "QUERY:  ", "CONTEXT:  ", "LOCATION:  ", "STATEMENT:  ", "LINE "};

// Offset of the next line (after `from`) that starts with a field label; npos if none.
size_t next_field_line(std::string_view text, size_t from) {
  size_t pos = from;
  while ((pos = text.find('\n', pos)) != std::string_view::npos) {
    std::string_view rest = text.substr(pos + 1);
    for (std::string_view label : kFieldLabels)
      if (rest.substr(0, label.size()) == label) return pos;
    ++pos;
  }
  return std::string_view::npos;
}

std::string_view trim_trailing_newlines(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Strips "ERROR:  " (or any upper-case severity, which may be localized) from the first line.
std::string_view strip_severity(std::string_view text) {
  size_t colon = text.find(":  ");
  if (colon == std::string_view::npos || colon == 0 || colon > 16) return text;
  for (size_t i = 0; i < colon; ++i)
    if (text[i] < 'A' || text[i] > 'Z') return text;
  return text.substr(colon + 3);
}

}  // namespace

DatabaseErrorText parse_libpq_error_message(std::string_view text) {
  DatabaseErrorText result;
  std::string_view body = strip_severity(text);

  size_t first_field = next_field_line(body, 0);
  result.message = std::string(trim_trailing_newlines(body.substr(0, first_field)));

  size_t pos = 0;
  while ((pos = next_field_line(body, pos)) != std::string_view::npos) {
    std::string_view rest = body.substr(pos + 1);
    constexpr std::string_view kDetail = "DETAIL:  ";
    if (rest.substr(0, kDetail.size()) == kDetail) {
      size_t end = next_field_line(body, pos + 1);
      std::string_view detail = body.substr(pos + 1 + kDetail.size());
      if (end != std::string_view::npos) detail = body.substr(pos + 1 + kDetail.size(),
                                                              end - (pos + 1 + kDetail.size()));
      result.detail = std::string(trim_trailing_newlines(detail));
      break;
    }
    ++pos;
  }
  return result;
}

}  // namespace pgfolio
