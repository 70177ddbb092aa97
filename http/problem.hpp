// RFC 9457 problem details, the body of every error pgfolio-http answers with.
//
// `type` is https://pgfolio.dev/problems/<code in kebab case> (e.g. .../not-found), one URI
// per catalog row; `title` is the catalog's title, `status` its HTTP status; `detail` says
// what went wrong with this request; `code` is the catalog name clients match on; `details`
// is an object with machine-readable specifics ({} when there are none).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "error_catalog.hpp"

namespace pgfolio::http {

struct Problem {
  const ErrorCatalogEntry* entry = nullptr;
  std::string detail;
  nlohmann::json details = nlohmann::json::object();
  int retry_after_seconds = 0;  // > 0 adds a Retry-After header (503s)
  std::string allow;            // non-empty adds an Allow header (405s)

  int status() const { return entry->http_status; }
};

Problem make_problem(ErrorCode code, std::string detail,
                     nlohmann::json details = nlohmann::json::object());

// The body for 5xx answers: nothing from the database or the code, only where to look.
std::string internal_detail(const std::string& request_id);

std::string problem_type_uri(const ErrorCatalogEntry& entry);

// The problem+json document for `problem`.
std::string problem_body(const Problem& problem);

// Serializes JSON for the wire and the log; invalid UTF-8 is replaced, never thrown about.
std::string dump_json(const nlohmann::json& value);

inline constexpr const char* kProblemContentType = "application/problem+json";
inline constexpr const char* kJsonContentType = "application/json";

}  // namespace pgfolio::http
