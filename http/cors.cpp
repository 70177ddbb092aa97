#include "cors.hpp"

#include <algorithm>

namespace pgfolio::http {
namespace {

// Headers a browser may send on a cross-origin call, and headers scripts may read back.
constexpr const char* kAllowedRequestHeaders = "Content-Type, Authorization, X-Request-Id";
constexpr const char* kExposedHeaders = "X-Request-Id, Retry-After";
// Browsers cap this anyway (Chrome at 2 hours); 10 minutes keeps config changes visible.
constexpr const char* kPreflightMaxAgeSeconds = "600";

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins)
    : allowed_origins_(std::move(allowed_origins)) {
  any_origin_ =
      std::find(allowed_origins_.begin(), allowed_origins_.end(), "*") != allowed_origins_.end();
}

std::optional<std::string> CorsPolicy::allow_origin_value(
    const std::optional<std::string>& origin) const {
  if (!origin || origin->empty()) return std::nullopt;
  if (any_origin_) return std::string("*");
  if (std::find(allowed_origins_.begin(), allowed_origins_.end(), *origin) !=
      allowed_origins_.end())
    return *origin;
  return std::nullopt;
}

HeaderList CorsPolicy::response_headers(const std::optional<std::string>& origin) const {
  HeaderList headers;
  // With specific origins the answer depends on Origin; caches must keep them apart.
  if (!allowed_origins_.empty() && !any_origin_) headers.emplace_back("Vary", "Origin");
  if (auto allowed = allow_origin_value(origin)) {
    headers.emplace_back("Access-Control-Allow-Origin", *allowed);
    headers.emplace_back("Access-Control-Expose-Headers", kExposedHeaders);
  }
  return headers;
}

std::optional<HeaderList> CorsPolicy::preflight_headers(const std::optional<std::string>& origin,
                                                        const std::string& allow_methods) const {
  auto allowed = allow_origin_value(origin);
  if (!allowed) return std::nullopt;
  HeaderList headers = {{"Access-Control-Allow-Origin", *allowed},
                        {"Access-Control-Allow-Methods", allow_methods},
                        {"Access-Control-Allow-Headers", kAllowedRequestHeaders},
                        {"Access-Control-Max-Age", kPreflightMaxAgeSeconds},
                        {"Access-Control-Expose-Headers", kExposedHeaders}};
  if (!any_origin_) headers.emplace_back("Vary", "Origin");
  return headers;
}

}  // namespace pgfolio::http
