#include "config.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <optional>
#include <sstream>

namespace pgfolio::http {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// Collects every problem so one start shows all of them, not just the first.
class Problems {
 public:
  void add(const std::string& variable, const std::string& message) {
    out_ << "\n  " << variable << ": " << message;
    empty_ = false;
  }
  void throw_if_any() const {
    if (!empty_) throw ConfigError("invalid configuration:" + out_.str());
  }

 private:
  std::ostringstream out_;
  bool empty_ = true;
};

// Parses a whole decimal integer within [min, max]; anything else is reported.
template <typename T>
void read_integer(const char* name, T& target, long long min, long long max, Problems& problems) {
  auto text = env(name);
  if (!text) return;
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (errno != 0 || end == text->c_str() || *end != '\0' || value < min || value > max) {
    problems.add(name, "expected a whole number from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", got \"" + *text + "\"");
    return;
  }
  target = static_cast<T>(value);
}

bool is_ip_literal(const std::string& address) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

// An origin as browsers send it: scheme://host[:port], nothing after the authority.
bool is_origin(const std::string& origin) {
  size_t scheme_end = origin.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return false;
  std::string scheme = origin.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  std::string authority = origin.substr(scheme_end + 3);
  if (authority.empty()) return false;
  for (char c : authority) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  std::istringstream in(text);
  while (std::getline(in, current, ',')) {
    size_t begin = current.find_first_not_of(" \t");
    size_t end = current.find_last_not_of(" \t");
    if (begin == std::string::npos) continue;
    parts.push_back(current.substr(begin, end - begin + 1));
  }
  return parts;
}

void check_database_url(const std::string& url, Problems& problems) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error ? error : "not a libpq connection string or URL";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    problems.add("PGFOLIO_DATABASE_URL", message);
  }
  if (options) PQconninfoFree(options);
  if (error) PQfreemem(error);
}

}  // namespace

Config load_config_from_environment() {
  Config config;
  Problems problems;

  if (auto url = env("PGFOLIO_DATABASE_URL")) {
    config.database_url = *url;
    check_database_url(*url, problems);
  } else {
    problems.add("PGFOLIO_DATABASE_URL",
                 "required (a libpq URL such as postgresql://user@host:5432/pgfolio)");
  }

  if (auto address = env("PGFOLIO_HTTP_ADDRESS")) {
    if (*address == "localhost") {
      config.address = "127.0.0.1";
    } else if (is_ip_literal(*address)) {
      config.address = *address;
    } else {
      problems.add("PGFOLIO_HTTP_ADDRESS",
                   "expected an IPv4 or IPv6 address, got \"" + *address + "\"");
    }
  }

  read_integer("PGFOLIO_HTTP_PORT", config.port, 1, 65535, problems);
  read_integer("PGFOLIO_DB_POOL_SIZE", config.pool_size, 1, 512, problems);
  // Handlers block a reactor thread while they wait for the database, so the default gives
  // every pooled connection a thread plus two for /healthz, /metrics and quick rejections.
  config.threads = config.pool_size + 2;
  read_integer("PGFOLIO_HTTP_THREADS", config.threads, 1, 1024, problems);
  read_integer("PGFOLIO_MAX_BODY_BYTES", config.max_body_bytes, 1, 64LL * 1024 * 1024, problems);
  read_integer("PGFOLIO_DB_RETRIES", config.db_retries, 0, 20, problems);
  read_integer("PGFOLIO_STATEMENT_TIMEOUT_MS", config.statement_timeout_ms, 0, 3600000, problems);

  if (auto origins = env("PGFOLIO_CORS_ORIGINS")) {
    for (const std::string& origin : split_commas(*origins)) {
      if (origin == "*" || is_origin(origin)) {
        config.cors_origins.push_back(origin);
      } else {
        problems.add("PGFOLIO_CORS_ORIGINS",
                     "\"" + origin + "\" is not * or an origin like https://app.example:8443");
      }
    }
  }

  problems.throw_if_any();
  return config;
}

}  // namespace pgfolio::http
