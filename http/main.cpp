// pgfolio-http: a thin REST front for the pgfolio PostgreSQL extension. Configuration comes
// from the environment (see docs/http.md); SIGTERM or SIGINT drains requests in progress
// and exits 0.
#include <pistache/endpoint.h>
#include <pistache/net.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "access_log.hpp"
#include "config.hpp"
#include "dispatcher.hpp"
#include "http_handler.hpp"
#include "outbox_sender.hpp"
#include "routes.hpp"
#include "witness.hpp"

namespace {

using namespace pgfolio::http;

// Blocks the shutdown signals in this thread before any other starts, so every thread
// inherits the mask and the signals are only ever taken by sigwait in main.
sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Waits for requests in progress; a request may legitimately run up to the statement
// timeout (times the retries), so that bounds the wait, capped for operators' patience.
void drain(ServerContext& context) {
  const auto limit = std::chrono::milliseconds(std::min(
      30000, context.config.statement_timeout_ms * (context.config.db_retries + 1) + 2000));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (context.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (context.in_flight.load() > 0)
    log_event("shutdown: " + std::to_string(context.in_flight.load()) +
              " request(s) still running after the drain period");
}

constexpr const char* kUsage =
    "usage: pgfolio-http            serve (configuration from PGFOLIO_* variables)\n"
    "       pgfolio-http --routes   print the route table as JSON and exit\n";

}  // namespace

int main(int argc, char** argv) {
  // Options are for tooling (the route-table check); the server itself reads only the
  // environment, so that one place configures it.
  if (argc > 1) {
    const std::string option = argv[1];
    if (option == "--routes" && argc == 2) {
      try {
        std::cout << route_table_json(route_table()) << std::endl;
      } catch (const std::exception& error) {
        std::cerr << "pgfolio-http: " << error.what() << std::endl;
        return 2;
      }
      return 0;
    }
    if ((option == "--help" || option == "-h") && argc == 2) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "pgfolio-http: unexpected argument \"" << option << "\"\n" << kUsage;
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client hanging up must not kill the server

  Config config;
  try {
    config = load_config_from_environment();
    route_table();  // validates the table
  } catch (const std::exception& error) {
    std::cerr << "pgfolio-http: " << error.what() << std::endl;
    return 2;
  }
  if (config.threads < config.pool_size)
    log_event("warning: PGFOLIO_HTTP_THREADS (" + std::to_string(config.threads) +
              ") is below PGFOLIO_DB_POOL_SIZE (" + std::to_string(config.pool_size) +
              "): handlers block while waiting for the database, so some connections "
              "will never be used");

  // libpq reads these when the URL does not set them: fail a connection attempt to an
  // unreachable database in bounded time, and name the server in pg_stat_activity.
  setenv("PGCONNECT_TIMEOUT", "3", 0);
  setenv("PGAPPNAME", "pgfolio-http", 0);

  sigset_t shutdown_signals = block_shutdown_signals();
  std::shared_ptr<ServerContext> context;
  try {
    // Builds the JWT codec, the password hasher (which refuses parameters below OWASP's
    // minimum) and the TOTP key's cipher.
    context = std::make_shared<ServerContext>(config);
  } catch (const std::invalid_argument& error) {
    // Only the password hasher throws this here (its parameters are the only settings not
    // checked by load_config_from_environment, which would need a hashing to do it).
    std::cerr << "pgfolio-http: invalid configuration:\n  PGFOLIO_ARGON2_MEMORY_KIB, "
                 "PGFOLIO_ARGON2_ITERATIONS, PGFOLIO_ARGON2_PARALLELISM: "
              << error.what() << std::endl;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "pgfolio-http: invalid configuration:\n  " << error.what() << std::endl;
    return 2;
  }

  // The witness reads its file before the server listens: a file it cannot trust (another
  // key's, a torn line, a bad signature) or one another witness holds stops the start.
  std::unique_ptr<LedgerWitness> witness;
  if (config.witness.enabled()) {
    try {
      witness = std::make_unique<LedgerWitness>(config.witness, context->metrics);
    } catch (const std::exception& error) {
      std::cerr << "pgfolio-http: ledger witness: " << error.what() << std::endl;
      return 2;
    }
  }

  Pistache::Address address(config.address, Pistache::Port(config.port));
  Pistache::Http::Endpoint endpoint(address);
  auto options = Pistache::Http::Endpoint::options()
                     .threads(config.threads)
                     .flags(Pistache::Tcp::Options::ReuseAddr)
                     // Above the body limit so that HttpHandler, not Pistache, answers 413.
                     .maxRequestSize(config.max_body_bytes + kHeaderAllowanceBytes)
                     // Pistache 0.0.5 answers these two timeouts itself, from its transport
                     // with no handler hook, with an empty-bodied 408: the one answer that is
                     // not problem+json (and has no access-log line).
                     .headerTimeout(std::chrono::seconds(15))
                     .bodyTimeout(std::chrono::seconds(30));
  try {
    endpoint.init(options);
    endpoint.setHandler(std::make_shared<HttpHandler>(context));
    endpoint.serveThreaded();
  } catch (const std::exception& error) {
    std::cerr << "pgfolio-http: cannot listen on " << config.address << ":" << config.port << ": "
              << error.what() << std::endl;
    return 1;
  }
  log_event("listening on " + config.address + ":" + std::to_string(config.port) + " with " +
            std::to_string(config.threads) + " threads and up to " +
            std::to_string(config.pool_size) + " database connections");

  if (!config.auth.bench_user_id.empty())
    log_event(
        "WARNING: PGFOLIO_BENCHMARK_ONLY_ACT_AS is set: requests without a token act as "
        "user " +
        config.auth.bench_user_id + ". For benchmarks only.");

  std::unique_ptr<OutboxWorker> outbox;
  if (!config.auth.sender_database_url.empty()) {
    outbox = std::make_unique<OutboxWorker>(config.auth.sender_database_url,
                                            std::make_unique<FileSender>(config.auth.outbox_file),
                                            std::chrono::milliseconds(config.auth.outbox_poll_ms));
    outbox->start();
    log_event("outbox sender started (development file sender)");
  } else {
    log_event("outbox sender off: PGFOLIO_SENDER_DATABASE_URL is not set");
  }

  if (witness) {
    witness->start();
  } else if (config.witness.public_key) {
    log_event(
        "ledger witness off (PGFOLIO_WITNESS_DATABASE_URL or the private key is not set); "
        "publishing key " +
        config.witness.public_key->key_id());
  } else {
    log_event("ledger witness off: no PGFOLIO_WITNESS_KEY");
  }

  int received = 0;
  sigwait(&shutdown_signals, &received);
  log_event(std::string("received ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
            "; draining requests");
  context->draining.store(true);
  if (outbox) outbox->stop();
  if (witness) witness->stop();
  drain(*context);
  endpoint.shutdown();
  context->pool.close_idle();
  log_event("stopped");
  return 0;
}
