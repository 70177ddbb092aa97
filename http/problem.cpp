#include "problem.hpp"

#include <cctype>

namespace pgfolio::http {

Problem make_problem(ErrorCode code, std::string detail, nlohmann::json details) {
  Problem problem;
  problem.entry = &catalog_entry(code);
  problem.detail = std::move(detail);
  problem.details = std::move(details);
  if (code == ErrorCode::SERVICE_UNAVAILABLE) problem.retry_after_seconds = 1;
  return problem;
}

std::string internal_detail(const std::string& request_id) {
  return "The server could not complete the request; quote request id " + request_id +
         " when reporting it.";
}

std::string problem_type_uri(const ErrorCatalogEntry& entry) {
  std::string slug;
  for (char c : entry.name)
    slug += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "https://pgfolio.dev/problems/" + slug;
}

std::string problem_body(const Problem& problem) {
  nlohmann::json body = {
      {"type", problem_type_uri(*problem.entry)},
      {"title", std::string(problem.entry->title)},
      {"status", problem.entry->http_status},
      {"detail", problem.detail},
      {"code", std::string(problem.entry->name)},
      {"details", problem.details.is_object() ? problem.details : nlohmann::json::object()},
  };
  return dump_json(body);
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pgfolio::http
