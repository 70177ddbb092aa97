// pgfolio-http's configuration, read once at start from PGFOLIO_* environment variables.
// Every value is validated before the server binds so that a typo fails fast with a message
// naming the variable, instead of surfacing later as odd behaviour.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgfolio::http {

struct Config {
  std::string database_url;
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 0;  // reactor threads; 0 before load_config fills in pool_size + 2
  int pool_size = 8;
  size_t max_body_bytes = 65536;
  std::vector<std::string> cors_origins;  // exact origins, or the single entry "*"
  int db_retries = 3;
  int statement_timeout_ms = 5000;  // 0 disables the timeout, as in PostgreSQL
};

// Thrown for a missing or malformed variable; what() names the variable and the rule.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the process environment. Throws ConfigError listing every problem found.
Config load_config_from_environment();

}  // namespace pgfolio::http
