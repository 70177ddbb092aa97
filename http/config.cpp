#include "config.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "base64url.hpp"

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

void check_url(const char* variable, const std::string& url, Problems& problems) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error ? error : "not a libpq connection string or URL";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    problems.add(variable, message);
  }
  if (options) PQconninfoFree(options);
  if (error) PQfreemem(error);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The JWT settings, checked by building the codec the server will use: a key that does not
// load, or a private and public key that do not belong together, stops the start.
void load_jwt(AuthConfig& auth, Problems& problems) {
  std::string algorithm = env("PGFOLIO_JWT_ALGORITHM").value_or("HS512");
  if (auto issuer = env("PGFOLIO_JWT_ISSUER")) auth.jwt_issuer = *issuer;
  if (auto audience = env("PGFOLIO_JWT_AUDIENCE")) auth.jwt_audience = *audience;
  const jwt::Options options{auth.jwt_issuer, auth.jwt_audience, 30};
  if (algorithm == "HS512") {
    auth.jwt_algorithm = jwt::Algorithm::HS512;
    auto secret = env("PGFOLIO_JWT_SECRET");
    if (!secret) {
      problems.add("PGFOLIO_JWT_SECRET",
                   "required with HS512 (at least 32 random bytes; `openssl rand -base64 48` "
                   "makes one)");
    } else if (secret->size() < jwt::kMinHmacSecretBytes) {
      problems.add("PGFOLIO_JWT_SECRET", "must be at least " +
                                             std::to_string(jwt::kMinHmacSecretBytes) +
                                             " bytes, got " + std::to_string(secret->size()));
    } else {
      auth.jwt_secret = *secret;
    }
    return;
  }
  if (algorithm != "RS256") {
    problems.add("PGFOLIO_JWT_ALGORITHM", "expected HS512 or RS256, got \"" + algorithm + "\"");
    return;
  }
  auth.jwt_algorithm = jwt::Algorithm::RS256;
  auto private_file = env("PGFOLIO_JWT_PRIVATE_KEY_FILE");
  if (!private_file) {
    problems.add("PGFOLIO_JWT_PRIVATE_KEY_FILE", "required with RS256 (a PEM RSA private key)");
    return;
  }
  auto private_pem = read_file(*private_file);
  if (!private_pem) {
    problems.add("PGFOLIO_JWT_PRIVATE_KEY_FILE", "cannot read " + *private_file);
    return;
  }
  try {
    jwt::Codec signer = jwt::Codec::rs256_private_pem(*private_pem, options);
    auth.jwt_private_key_pem = *private_pem;
    if (auto public_file = env("PGFOLIO_JWT_PUBLIC_KEY_FILE")) {
      auto public_pem = read_file(*public_file);
      if (!public_pem) {
        problems.add("PGFOLIO_JWT_PUBLIC_KEY_FILE", "cannot read " + *public_file);
        return;
      }
      jwt::Codec verifier = jwt::Codec::rs256_public_pem(*public_pem, options);
      const std::string probe = signer.sign({"00000000-0000-4000-8000-000000000000", "user",
                                             "00000000-0000-4000-8000-000000000000", 1, 2});
      if (verifier.verify_signature(probe) != jwt::Reason::ok)
        problems.add("PGFOLIO_JWT_PUBLIC_KEY_FILE", "is not the public half of the private key");
      else
        auth.jwt_public_key_pem = *public_pem;
    }
  } catch (const std::exception& error) {
    problems.add("PGFOLIO_JWT_PRIVATE_KEY_FILE", error.what());
  }
}

void load_auth(AuthConfig& auth, Problems& problems) {
  load_jwt(auth, problems);
  if (auth.jwt_issuer.empty() || auth.jwt_audience.empty())
    problems.add("PGFOLIO_JWT_ISSUER", "issuer and audience must not be empty");
  read_integer("PGFOLIO_ACCESS_TOKEN_TTL_SECONDS", auth.access_token_ttl_seconds, 60, 86400,
               problems);
  read_integer("PGFOLIO_REFRESH_TOKEN_TTL_SECONDS", auth.refresh_token_ttl_seconds, 300,
               400 * 86400, problems);

  if (auto key = env("PGFOLIO_TOTP_KEY")) {
    auto raw = base64_decode(*key);
    if (!raw || raw->size() != 32)
      problems.add("PGFOLIO_TOTP_KEY",
                   "expected 32 bytes in base64 (`openssl rand -base64 32` makes one)");
    else
      auth.totp_key = *raw;
  } else {
    problems.add("PGFOLIO_TOTP_KEY",
                 "required: the AES-256 key for TOTP secrets at rest, 32 bytes in base64");
  }
  if (auto issuer = env("PGFOLIO_TOTP_ISSUER")) {
    if (issuer->find(':') != std::string::npos || issuer->size() > 64)
      problems.add("PGFOLIO_TOTP_ISSUER", "at most 64 characters and no ':'");
    else
      auth.totp_issuer = *issuer;
  }

  read_integer("PGFOLIO_RATE_LOGIN_PER_MINUTE", auth.rate_login_per_minute, 1, 1000000, problems);
  read_integer("PGFOLIO_RATE_USER_PER_MINUTE", auth.rate_user_per_minute, 1, 1000000, problems);

  read_integer("PGFOLIO_ARGON2_MEMORY_KIB", auth.argon2.memory_kib, 1, 4 * 1024 * 1024, problems);
  read_integer("PGFOLIO_ARGON2_ITERATIONS", auth.argon2.iterations, 1, 100, problems);
  read_integer("PGFOLIO_ARGON2_PARALLELISM", auth.argon2.parallelism, 1, 64, problems);

  if (auto url = env("PGFOLIO_SENDER_DATABASE_URL")) {
    auth.sender_database_url = *url;
    check_url("PGFOLIO_SENDER_DATABASE_URL", *url, problems);
    if (auto file = env("PGFOLIO_OUTBOX_FILE"))
      auth.outbox_file = *file;
    else
      problems.add("PGFOLIO_OUTBOX_FILE",
                   "required with PGFOLIO_SENDER_DATABASE_URL: the development sender appends "
                   "each message to this file (no other sender exists yet)");
  }
  read_integer("PGFOLIO_OUTBOX_POLL_MS", auth.outbox_poll_ms, 10, 60000, problems);

  if (auto act_as = env("PGFOLIO_BENCHMARK_ONLY_ACT_AS")) {
    const size_t comma = act_as->find(',');
    const std::string user = act_as->substr(0, comma);
    const std::string session = comma == std::string::npos ? "" : act_as->substr(comma + 1);
    if (!jwt::is_uuid(user) || !jwt::is_uuid(session))
      problems.add("PGFOLIO_BENCHMARK_ONLY_ACT_AS", "expected \"<user uuid>,<session uuid>\"");
    auth.bench_user_id = user;
    auth.bench_session_id = session;
  }
}

// The witness's key: the private key (from the variable or a file, not both) and, for an
// instance that only publishes it, the public key. A key that does not load, or a public key
// that is not the private key's, stops the start.
void load_witness(WitnessConfig& witness, Problems& problems) {
  auto key_text = env("PGFOLIO_WITNESS_KEY");
  if (auto key_file = env("PGFOLIO_WITNESS_KEY_FILE")) {
    if (key_text) {
      problems.add("PGFOLIO_WITNESS_KEY_FILE",
                   "set only one of PGFOLIO_WITNESS_KEY and "
                   "PGFOLIO_WITNESS_KEY_FILE");
      return;
    }
    key_text = read_file(*key_file);
    if (!key_text) {
      problems.add("PGFOLIO_WITNESS_KEY_FILE", "cannot read " + *key_file);
      return;
    }
  }
  const char* key_variable =
      env("PGFOLIO_WITNESS_KEY_FILE") ? "PGFOLIO_WITNESS_KEY_FILE" : "PGFOLIO_WITNESS_KEY";
  if (key_text) {
    try {
      witness.key =
          std::make_shared<const ed25519::PrivateKey>(ed25519::PrivateKey::from_text(*key_text));
      witness.public_key = std::make_shared<const ed25519::PublicKey>(witness.key->public_key());
    } catch (const std::exception& error) {
      problems.add(key_variable, std::string(error.what()) +
                                     " (an Ed25519 key: PEM PKCS#8, or the 32-byte seed as 64 "
                                     "hex digits; `openssl rand -hex 32` makes one)");
    }
  }
  if (auto public_text = env("PGFOLIO_WITNESS_PUBLIC_KEY")) {
    try {
      auto public_key =
          std::make_shared<const ed25519::PublicKey>(ed25519::PublicKey::from_text(*public_text));
      if (witness.public_key && witness.public_key->raw() != public_key->raw())
        problems.add("PGFOLIO_WITNESS_PUBLIC_KEY",
                     "is not the public half of " + std::string(key_variable));
      witness.public_key = public_key;
    } catch (const std::exception& error) {
      problems.add("PGFOLIO_WITNESS_PUBLIC_KEY",
                   std::string(error.what()) + " (PEM SubjectPublicKeyInfo or 64 hex digits)");
    }
  }

  if (auto url = env("PGFOLIO_WITNESS_DATABASE_URL")) {
    witness.database_url = *url;
    check_url("PGFOLIO_WITNESS_DATABASE_URL", *url, problems);
    if (!key_text)
      problems.add("PGFOLIO_WITNESS_DATABASE_URL",
                   "the witness needs its signing key: set PGFOLIO_WITNESS_KEY or "
                   "PGFOLIO_WITNESS_KEY_FILE");
    if (auto file = env("PGFOLIO_WITNESS_FILE"))
      witness.file = *file;
    else
      problems.add("PGFOLIO_WITNESS_FILE",
                   "required with PGFOLIO_WITNESS_DATABASE_URL: the witness's own append-only "
                   "record of the checkpoints it signed");
  } else if (env("PGFOLIO_WITNESS_FILE")) {
    problems.add("PGFOLIO_WITNESS_FILE",
                 "set without PGFOLIO_WITNESS_DATABASE_URL, so no witness would use it");
  }
  read_integer("PGFOLIO_WITNESS_INTERVAL_SECONDS", witness.interval_seconds, 1, 86400, problems);
}

}  // namespace

Config load_config_from_environment() {
  Config config;
  Problems problems;

  if (auto url = env("PGFOLIO_DATABASE_URL")) {
    config.database_url = *url;
    check_url("PGFOLIO_DATABASE_URL", *url, problems);
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

  // Streamed answers (the ledger export): a quarter of the pool by default, since exports are
  // rare and long and the rest of the API must keep its connections while they run.
  config.stream.max_concurrent = std::max(1, config.pool_size / 4);
  read_integer("PGFOLIO_EXPORT_MAX_CONCURRENT", config.stream.max_concurrent, 1, config.pool_size,
               problems);
  read_integer("PGFOLIO_EXPORT_MIN_BYTES", config.stream.min_bytes, 1, 64LL * 1024 * 1024,
               problems);
  long long window_seconds = config.stream.window.count();
  long long deadline_seconds = config.stream.deadline.count();
  read_integer("PGFOLIO_EXPORT_RATE_WINDOW_SECONDS", window_seconds, 1, 3600, problems);
  read_integer("PGFOLIO_EXPORT_DEADLINE_SECONDS", deadline_seconds, 1, 86400, problems);
  config.stream.window = std::chrono::seconds(window_seconds);
  config.stream.deadline = std::chrono::seconds(deadline_seconds);

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

  load_auth(config.auth, problems);
  load_witness(config.witness, problems);
  // The benchmark switch turns authentication off: a server that listens beyond this machine
  // must never start with it, whatever else is misconfigured.
  if (!config.auth.bench_user_id.empty() && config.address != "127.0.0.1" &&
      config.address != "::1")
    problems.add("PGFOLIO_BENCHMARK_ONLY_ACT_AS",
                 "switches authentication off, so it is refused unless PGFOLIO_HTTP_ADDRESS is "
                 "127.0.0.1 or ::1");

  problems.throw_if_any();
  return config;
}

}  // namespace pgfolio::http
