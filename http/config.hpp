// pgfolio-http's configuration, read once at start from PGFOLIO_* environment variables.
// Every value is validated before the server binds so that a typo fails fast with a message
// naming the variable, instead of surfacing later as odd behaviour.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "jwt.hpp"
#include "password_hasher.hpp"
#include "signature.hpp"

namespace pgfolio::http {

// Accounts and authentication (docs/auth.md). The secrets here never reach the database.
struct AuthConfig {
  jwt::Algorithm jwt_algorithm = jwt::Algorithm::HS512;
  std::string jwt_secret;           // HS512: at least 32 bytes
  std::string jwt_private_key_pem;  // RS256: the key file's contents (signs and verifies)
  std::string jwt_public_key_pem;   // RS256, optional: checked to match the private key
  std::string jwt_issuer = "pgfolio";
  std::string jwt_audience = "pgfolio-api";
  int access_token_ttl_seconds = 900;
  int refresh_token_ttl_seconds = 30 * 24 * 3600;
  std::string totp_key;                 // 32 raw bytes (AES-256-GCM key for TOTP secrets at rest)
  std::string totp_issuer = "pgfolio";  // the issuer authenticator apps show
  int rate_login_per_minute = 10;       // per client IP, login-like routes
  int rate_user_per_minute = 100;       // per user, authenticated routes
  Argon2Parameters argon2;
  // The outbox sender runs only when sender_database_url is set; it then delivers through
  // the development file sender, which appends to outbox_file.
  std::string sender_database_url;
  std::string outbox_file;
  // The sender LISTENs for new messages; polling only finds retries that became due.
  int outbox_poll_ms = 5000;
  // Benchmark only (PGFOLIO_BENCHMARK_ONLY_ACT_AS="<user id>,<session id>"): requests to
  // user routes without an Authorization header act as this user with no token check and
  // no authenticate() call, so that make bench can measure what authentication costs. Never
  // set it anywhere else: it hands that user's account to anyone.
  std::string bench_user_id;
  std::string bench_session_id;
};

// The ledger's witness (docs/witness.md): signs Merkle checkpoints with a key that never
// reaches the database. It runs when both key and database_url are set; an instance with
// only a key (or only public_key) just publishes the verifying key.
struct WitnessConfig {
  std::shared_ptr<const ed25519::PrivateKey> key;  // PGFOLIO_WITNESS_KEY or _KEY_FILE
  // What GET /api/v1/ledger/public-key publishes: the private key's public half, or
  // PGFOLIO_WITNESS_PUBLIC_KEY; null when neither is configured (the route answers 404).
  std::shared_ptr<const ed25519::PublicKey> public_key;
  std::string database_url;  // as a member of pgfolio_witness
  std::string file;          // its append-only memory: JSON lines of signed checkpoints
  int interval_seconds = 60;

  bool enabled() const { return key != nullptr && !database_url.empty(); }
};

// What bounds streamed answers (docs/http.md, "History"): PGFOLIO_EXPORT_* variables.
struct StreamLimits {
  // At most this many at once in the process; one more is 503 SERVICE_UNAVAILABLE. Default a
  // quarter of the pool (at least 1), at most the pool: each holds a pooled connection.
  int max_concurrent = 1;
  // While the server waits for room on the socket, the client must take at least min_bytes
  // per `window` of waiting; time spent reading the database does not count against it.
  size_t min_bytes = 64 * 1024;
  std::chrono::seconds window{30};
  // From the moment the answer is admitted to its last byte, whatever the pace.
  std::chrono::seconds deadline{900};
};

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
  AuthConfig auth;
  WitnessConfig witness;
  StreamLimits stream;
};

// Thrown for a missing or malformed variable; what() names the variable and the rule.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the process environment. Throws ConfigError listing every problem found.
Config load_config_from_environment();

}  // namespace pgfolio::http
