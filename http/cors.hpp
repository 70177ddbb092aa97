// CORS for the configured origins. Browsers send Origin on cross-origin calls; an allowed
// origin gets Access-Control-Allow-Origin (and X-Request-Id exposed to scripts), any other
// origin gets no CORS header at all, so the browser withholds the answer from the page.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgfolio::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> allowed_origins);

  // The value for Access-Control-Allow-Origin if `origin` may call, else nullopt.
  std::optional<std::string> allow_origin_value(const std::optional<std::string>& origin) const;

  // Headers for an ordinary answer to a request that carried `origin`.
  HeaderList response_headers(const std::optional<std::string>& origin) const;

  // Headers granting a preflight (OPTIONS with Access-Control-Request-Method) for the
  // path's `allow_methods`; nullopt when the origin is not allowed.
  std::optional<HeaderList> preflight_headers(const std::optional<std::string>& origin,
                                              const std::string& allow_methods) const;

 private:
  std::vector<std::string> allowed_origins_;
  bool any_origin_ = false;
};

}  // namespace pgfolio::http
