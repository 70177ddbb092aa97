// The ledger's witness (docs/witness.md, docs/ledger-format.md §3): a background thread of
// pgfolio-http with a database connection of its own (as a member of pgfolio_witness) that,
// every interval, fetches each portfolio's Merkle tree head, checks with a consistency proof
// that it extends the head the witness signed last, signs it with Ed25519 and stores the
// signed checkpoint in its own append-only file and in the database. A head that does not
// extend what the witness saw raises an alarm (an error log line, an audit entry, a counter)
// and is never signed.
//
// The witness's memory is its file, never the database: whoever controls the database could
// rewrite the ledger and the stored checkpoints alike, but not the file, nor sign with the
// key, which never leaves this process.
#pragma once

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint.hpp"
#include "config.hpp"
#include "metrics.hpp"

namespace pgfolio::http {

// The witness's append-only file: one §3.2 checkpoint object per line, in the order signed.
// Opened once and locked (flock), so that two witnesses never share one file; each append is
// one write of a whole line followed by fsync.
class WitnessFile {
 public:
  // Opens (creating it if missing) and locks the file, then reads it: every line must be a
  // complete checkpoint signed by `key` (a file kept from another key, a torn last line or a
  // line that does not verify stops the start: the witness must not continue from a memory
  // it cannot trust). Throws std::runtime_error naming the line.
  WitnessFile(const std::string& path, const ed25519::PublicKey& key);
  ~WitnessFile();
  WitnessFile(const WitnessFile&) = delete;
  WitnessFile& operator=(const WitnessFile&) = delete;

  // The latest (largest) checkpoint of each portfolio in the file, by portfolio id.
  const std::map<std::string, ledger::Checkpoint>& latest() const { return latest_; }
  size_t lines() const { return lines_; }

  // Appends one checkpoint and makes it durable. On failure the file is cut back to where it
  // was (no torn line is left) and std::runtime_error is thrown.
  void append(const ledger::Checkpoint& checkpoint);

 private:
  void load(const ed25519::PublicKey& key);

  std::string path_;
  int fd_ = -1;
  std::map<std::string, ledger::Checkpoint> latest_;
  size_t lines_ = 0;
};

class LedgerWitness {
 public:
  // Opens the file and loads the witness's memory (throws std::runtime_error as WitnessFile
  // does); the thread starts with start(). config.enabled() must hold.
  LedgerWitness(const WitnessConfig& config, Metrics& metrics);
  ~LedgerWitness();

  void start();
  // Finishes the portfolio in hand, then stops the thread and closes the connection.
  void stop();

 private:
  struct Head {
    std::string portfolio_id;
    std::uint64_t tree_size = 0;
    std::string root_hash;  // raw; empty when the database could not build the tree
    std::string problem;    // why it could not (a gap in seq)
  };
  struct Alarm {
    std::string portfolio_id;  // empty for an alarm about the round (paging_fault)
    std::string reason;
    nlohmann::json details;
  };

  void run();
  // One pass over every portfolio; throws on a database error (the round is retried whole).
  // False when the round stopped at a page the witness cannot trust (raise_round_alarm).
  bool round(pqxx::connection& connection);
  // Why a page of heads that follows the id `after` (empty: the first page) cannot be
  // trusted: an id that is not a lowercase UUID, or ids that do not strictly increase from
  // `after` on. An Alarm without a portfolio.
  static std::optional<Alarm> paging_fault(const std::string& after, const std::vector<Head>& page);
  // What to do with one head: nothing, sign it (returns true), or raise an alarm.
  bool judge(pqxx::transaction_base& tx, const Head& head, std::optional<Alarm>& alarm);
  void sign(const Head& head);
  void raise_alarm(const Alarm& alarm);
  void settle_alarm(const std::string& portfolio_id);
  // An alarm about the round itself (the database's paging), raised once per incident and
  // settled by the next round that completes.
  void raise_round_alarm(const Alarm& alarm);
  void settle_round_alarm();
  // Stores in the database what the file holds and the database may not (after a restart
  // or a database outage), and the audit entries of alarms not yet written.
  void flush_pending(pqxx::connection& connection);
  void wait(std::chrono::milliseconds duration);

  const WitnessConfig config_;
  Metrics& metrics_;
  WitnessFile file_;
  // The latest checkpoint this witness signed (or read from its file) per portfolio.
  std::map<std::string, ledger::Checkpoint> memory_;
  // Portfolios in alarm and why, so that one incident raises one alarm.
  std::map<std::string, std::string> alarming_;  // portfolio id -> reason
  std::string round_alarm_;                      // the paging fault in alarm, if any
  std::deque<ledger::Checkpoint> unrecorded_;    // in the file, perhaps not in the database
  std::deque<Alarm> unaudited_;                  // raised, not yet in the audit trail
  std::atomic<bool> stopping_{false};
  int stop_pipe_[2] = {-1, -1};  // stop() writes to [1]; wait() polls [0]
  std::thread thread_;
};

}  // namespace pgfolio::http
