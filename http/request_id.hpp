// Request ids tie an answer, its access-log line and any error logged for it together.
#pragma once

#include <optional>
#include <string>

namespace pgfolio::http {

// The client's X-Request-Id when it is sane (1-128 characters of [A-Za-z0-9._-]), so ids
// from a proxy or a caller's trace are kept; otherwise a fresh random one.
std::string choose_request_id(const std::optional<std::string>& from_client);

// 32 random hex digits.
std::string generate_request_id();

}  // namespace pgfolio::http
