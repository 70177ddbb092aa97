// The exception type pgfolio's C++ code throws for a domain error. The entry-point wrapper
// in extension/pg turns it into a PostgreSQL error with the catalog's SQLSTATE, the message,
// and `details` (a JSON object as text) in the error's DETAIL.
#pragma once

#include <stdexcept>
#include <string>

#include "error_catalog.hpp"

namespace pgfolio {

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string details_json = "{}")
      : std::runtime_error(message), code_(code), details_json_(std::move(details_json)) {}

  ErrorCode code() const { return code_; }
  const std::string& details_json() const { return details_json_; }

 private:
  ErrorCode code_;
  std::string details_json_;
};

}  // namespace pgfolio
