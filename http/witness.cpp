#include "witness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include "access_log.hpp"
#include "digest.hpp"
#include "ledger_entry.hpp"
#include "merkle.hpp"
#include "problem.hpp"

namespace pgfolio::http {
namespace {

// Portfolios per call of ledger_witness_heads: each page is one short read transaction.
constexpr int kHeadsPage = 100;
// Between connection attempts while the database is unreachable.
constexpr std::chrono::milliseconds kReconnectDelay{2000};
// Computing the heads reads every entry hash of a page of portfolios: far more than a request.
constexpr const char* kStatementTimeout = "SET statement_timeout = 60000";

// pgfolio's SQLSTATEs for refusals that will not change by asking again.
bool is_final_refusal(const pqxx::sql_error& error) {
  const std::string& state = error.sqlstate();
  return state == "PF400" || state == "PF404" || state == "PF409";
}

std::int64_t now_unix_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

nlohmann::json hex_or_null(const std::string& raw) {
  return raw.empty() ? nlohmann::json(nullptr) : nlohmann::json(hex_encode(raw));
}

}  // namespace

// --- the file --------------------------------------------------------------------------------

WitnessFile::WitnessFile(const std::string& path, const ed25519::PublicKey& key) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(system_error("cannot open " + path));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(busy ? path + " is in use by another witness (one file, one witness)"
                                  : system_error("cannot lock " + path));
  }
  try {
    load(key);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

WitnessFile::~WitnessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void WitnessFile::load(const ed25519::PublicKey& key) {
  std::string content;
  char buffer[65536];
  for (off_t offset = 0;;) {
    ssize_t got = ::pread(fd_, buffer, sizeof buffer, offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(system_error("cannot read " + path_));
    }
    if (got == 0) break;
    content.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  if (content.empty()) {
    // A new file: make its directory entry durable too, or a crash could lose the file and
    // with it every checkpoint fsync'ed into it.
    std::string directory = path_.substr(0, path_.find_last_of('/') + 1);
    int dir = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return;
  }
  // Every root signed per (portfolio, size): two for one size would mean the file was
  // tampered with (or two witnesses shared it).
  std::map<std::pair<std::string, std::uint64_t>, std::string> roots;
  size_t start = 0;
  while (start < content.size()) {
    const size_t end = content.find('\n', start);
    const std::string where = path_ + " line " + std::to_string(lines_ + 1);
    if (end == std::string::npos)
      throw std::runtime_error(where +
                               " does not end in a newline: a write was cut short (a crash?); "
                               "check it and remove the incomplete line (docs/witness.md)");
    ledger::Checkpoint checkpoint;
    try {
      checkpoint = ledger::parse_checkpoint(std::string_view(content).substr(start, end - start));
    } catch (const std::exception& error) {
      throw std::runtime_error(where + " is not a checkpoint: " + error.what());
    }
    if (checkpoint.key_id != key.key_id())
      throw std::runtime_error(where + " was signed by key " + checkpoint.key_id +
                               ", not by this witness's key " + key.key_id() +
                               ": a new key starts a new file (docs/witness.md)");
    if (!ledger::verify_checkpoint_signature(checkpoint, key))
      throw std::runtime_error(where + ": the signature does not verify");
    auto [root, first_at_size] = roots.emplace(
        std::make_pair(checkpoint.portfolio_id, checkpoint.tree_size), checkpoint.root_hash);
    if (!first_at_size && root->second != checkpoint.root_hash)
      throw std::runtime_error(where + " signs another root for a tree size signed before");
    auto [known, inserted] = latest_.emplace(checkpoint.portfolio_id, checkpoint);
    if (!inserted && checkpoint.tree_size >= known->second.tree_size) known->second = checkpoint;
    ++lines_;
    start = end + 1;
  }
}

void WitnessFile::append(const ledger::Checkpoint& checkpoint) {
  const std::string text = ledger::to_json(checkpoint).dump() + "\n";
  struct stat before {};
  if (::fstat(fd_, &before) != 0) throw std::runtime_error(system_error("cannot stat " + path_));
  ssize_t written = ::write(fd_, text.data(), text.size());
  if (written == static_cast<ssize_t>(text.size()) && ::fsync(fd_) == 0) {
    ++lines_;
    return;
  }
  const std::string failure =
      system_error(written == static_cast<ssize_t>(text.size()) ? "cannot fsync " + path_
                                                                : "cannot write " + path_);
  // No torn or unsynced line may stay: the next start would refuse the file.
  if (::ftruncate(fd_, before.st_size) != 0 || ::fsync(fd_) != 0)
    throw std::runtime_error(failure + "; cutting it back failed too: " + std::strerror(errno));
  throw std::runtime_error(failure);
}

// --- the witness -----------------------------------------------------------------------------

LedgerWitness::LedgerWitness(const WitnessConfig& config, Metrics& metrics)
    : config_(config), metrics_(metrics), file_(config.file, config.key->public_key()) {
  memory_ = file_.latest();
  // The database may lack what the file holds (a crash between the two writes, a restore):
  // recorded again, which is a no-op for what is there.
  for (const auto& [portfolio_id, checkpoint] : memory_) unrecorded_.push_back(checkpoint);
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(system_error("witness: pipe"));
  metrics_.set_witness_enabled(true);
}

LedgerWitness::~LedgerWitness() {
  stop();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void LedgerWitness::start() {
  log_event("ledger witness started: key " + config_.key->public_key().key_id() + ", " +
            std::to_string(memory_.size()) + " portfolio(s) remembered from " + config_.file +
            ", a round every " + std::to_string(config_.interval_seconds) + " s");
  thread_ = std::thread([this] { run(); });
}

void LedgerWitness::stop() {
  if (!stopping_.exchange(true)) {
    const char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(stop_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
}

void LedgerWitness::wait(std::chrono::milliseconds duration) {
  if (stopping_.load()) return;
  pollfd fd = {stop_pipe_[0], POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(duration.count()));
}

void LedgerWitness::run() {
  std::unique_ptr<pqxx::connection> connection;
  bool reported_down = false;
  while (!stopping_.load()) {
    try {
      if (!connection || !connection->is_open()) {
        connection = std::make_unique<pqxx::connection>(config_.database_url);
        pqxx::nontransaction setup(*connection);
        setup.exec(kStatementTimeout);
        setup.exec("SET application_name = 'pgfolio-witness'");
        if (reported_down) log_event("ledger witness: connected");
        reported_down = false;
      }
      // A round stopped by an alarm about the paging did not witness every portfolio.
      const bool completed = round(*connection);
      metrics_.count_witness_round(completed,
                                   completed ? static_cast<double>(now_unix_micros()) / 1e6 : 0);
      wait(std::chrono::seconds(config_.interval_seconds));
    } catch (const pqxx::broken_connection& error) {
      // An unreachable database is no alarm: nothing was shown to the witness.
      connection.reset();
      metrics_.count_witness_round(false, 0);
      if (!reported_down)
        log_event(std::string("ledger witness: database unreachable, retrying: ") + error.what());
      reported_down = true;
      wait(kReconnectDelay);
    } catch (const std::exception& error) {
      // A SQL error (a grant missing, a timeout) or a file that cannot be written: no alarm
      // (nothing wrong was shown), but the witness is not doing its work, so an error line;
      // the connection is replaced and the round run again after the interval.
      metrics_.count_witness_round(false, 0);
      log_line("error", std::string("ledger witness: round failed, retrying: ") + error.what(),
               {{"event", "ledger_witness_round_failed"}});
      connection.reset();
      wait(std::max<std::chrono::milliseconds>(std::chrono::seconds(config_.interval_seconds),
                                               kReconnectDelay));
    }
  }
}

bool LedgerWitness::round(pqxx::connection& connection) {
  flush_pending(connection);
  std::set<std::string> seen;
  std::string after;
  for (;;) {
    std::vector<Head> heads;
    std::vector<Head> to_sign;
    std::vector<Alarm> alarms;
    {
      // One snapshot per page: each head and its proof describe the same ledger.
      pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>
          tx(connection);
      pqxx::result result = tx.exec_params(
          "SELECT portfolio_id::text, tree_size, encode(root_hash, 'hex'), problem "
          "FROM pgfolio.ledger_witness_heads(NULLIF($1, '')::uuid, $2)",
          after, kHeadsPage);
      for (const auto& row : result) {
        Head head;
        head.portfolio_id = row[0].is_null() ? std::string() : row[0].c_str();
        head.tree_size = row[1].is_null() ? 0 : row[1].as<std::uint64_t>();
        if (!row[2].is_null()) {
          auto raw = ledger::hash_from_hex(row[2].c_str());
          if (!raw) throw std::runtime_error("ledger_witness_heads returned a malformed root");
          head.root_hash = *raw;
        }
        if (!row[3].is_null()) head.problem = row[3].c_str();
        heads.push_back(std::move(head));
      }
      // The pages are the database's word on which portfolios there are: before anything of
      // a page is judged, its ids must follow the last page's, in order (docs/witness.md, "A
      // round"). A page that does not would make `after` stand still (a full page repeated
      // is a round that never ends) or go back over portfolios judged already.
      if (auto fault = paging_fault(after, heads)) {
        tx.commit();
        raise_round_alarm(*fault);
        return false;
      }
      for (const Head& head : heads) {
        seen.insert(head.portfolio_id);
        after = head.portfolio_id;
        std::optional<Alarm> alarm;
        if (judge(tx, head, alarm)) to_sign.push_back(head);
        if (alarm) alarms.push_back(std::move(*alarm));
      }
      tx.commit();
    }
    for (const Alarm& alarm : alarms) raise_alarm(alarm);
    for (const Head& head : to_sign) {
      if (stopping_.load()) break;
      sign(head);
    }
    flush_pending(connection);
    if (heads.size() < static_cast<size_t>(kHeadsPage) || stopping_.load()) break;
  }
  if (stopping_.load()) return true;
  settle_round_alarm();
  // A portfolio the witness signed for that no longer has any entry: its whole history went.
  for (const auto& [portfolio_id, checkpoint] : memory_) {
    if (seen.count(portfolio_id)) continue;
    raise_alarm({portfolio_id,
                 "the portfolio's ledger is gone",
                 {{"witnessedSize", checkpoint.tree_size},
                  {"witnessedRoot", hex_encode(checkpoint.root_hash)},
                  {"reportedSize", 0},
                  {"reportedRoot", nullptr}}});
  }
  flush_pending(connection);
  return true;
}

std::optional<LedgerWitness::Alarm> LedgerWitness::paging_fault(const std::string& after,
                                                                const std::vector<Head>& page) {
  const std::string* previous = after.empty() ? nullptr : &after;
  for (size_t i = 0; i < page.size(); ++i) {
    const std::string& id = page[i].portfolio_id;
    std::string reason;
    if (!ledger::is_lowercase_uuid(id)) {
      reason = "the database listed a portfolio id that is not a lowercase UUID";
    } else if (previous && id <= *previous) {
      // Lowercase UUID text sorts as the uuid type does (byte by byte).
      reason = "the database listed portfolios out of order (ids must strictly increase)";
    } else {
      previous = &id;
      continue;
    }
    return Alarm{
        std::string(),
        reason,
        {{"afterPortfolio", after.empty() ? nlohmann::json(nullptr) : nlohmann::json(after)},
         {"previousPortfolio", previous ? nlohmann::json(*previous) : nlohmann::json(nullptr)},
         // As the database wrote it, cut short: it may be anything.
         {"reportedPortfolio", id.substr(0, 64)},
         {"rowInPage", i + 1},
         {"pageRows", page.size()}}};
  }
  return std::nullopt;
}

bool LedgerWitness::judge(pqxx::transaction_base& tx, const Head& head,
                          std::optional<Alarm>& alarm) {
  const auto known = memory_.find(head.portfolio_id);
  nlohmann::json details = {{"witnessedSize", nullptr},
                            {"witnessedRoot", nullptr},
                            {"reportedSize", head.tree_size},
                            {"reportedRoot", hex_or_null(head.root_hash)}};
  if (known != memory_.end()) {
    details["witnessedSize"] = known->second.tree_size;
    details["witnessedRoot"] = hex_encode(known->second.root_hash);
  }
  if (!head.problem.empty()) {
    details["problem"] = head.problem;
    alarm = Alarm{head.portfolio_id, "the database cannot build the ledger's tree", details};
    return false;
  }
  // A portfolio seen for the first time is taken as it is (docs/witness.md, "History it
  // never saw").
  if (known == memory_.end()) {
    settle_alarm(head.portfolio_id);
    return true;
  }
  const ledger::Checkpoint& witnessed = known->second;
  if (head.tree_size < witnessed.tree_size) {
    alarm =
        Alarm{head.portfolio_id, "the ledger is shorter than the tree the witness signed", details};
    return false;
  }
  if (head.tree_size == witnessed.tree_size) {
    if (head.root_hash == witnessed.root_hash) {
      settle_alarm(head.portfolio_id);
      return false;
    }
    alarm = Alarm{head.portfolio_id, "the root changed at the size the witness signed", details};
    return false;
  }
  pqxx::result result = tx.exec_params(
      "SELECT encode(p, 'hex') FROM unnest(pgfolio.ledger_witness_proof($1::uuid, $2, $3)) "
      "WITH ORDINALITY AS t(p, i) ORDER BY i",
      head.portfolio_id, witnessed.tree_size, head.tree_size);
  std::vector<std::string> proof;
  for (const auto& row : result) {
    auto raw = ledger::hash_from_hex(row[0].c_str());
    // A malformed element is a proof that fails, like any other wrong one.
    proof.push_back(raw ? *raw : std::string());
  }
  // Against the witness's own old root: never one the database states.
  if (merkle::verify_consistency(witnessed.tree_size, head.tree_size, witnessed.root_hash,
                                 head.root_hash, proof)) {
    settle_alarm(head.portfolio_id);
    return true;
  }
  alarm = Alarm{head.portfolio_id,
                "the consistency proof fails: the ledger does not extend the tree the witness "
                "signed",
                details};
  return false;
}

void LedgerWitness::sign(const Head& head) {
  ledger::Checkpoint checkpoint =
      ledger::sign_checkpoint(head.portfolio_id, head.tree_size, head.root_hash,
                              ledger::utc_timestamp(now_unix_micros()), *config_.key);
  // The file first: it is the witness's memory, and the database gets nothing the file does
  // not hold. A failed write throws, so the head is not remembered and the round is retried.
  file_.append(checkpoint);
  memory_[head.portfolio_id] = checkpoint;
  unrecorded_.push_back(checkpoint);
  metrics_.count_witness_checkpoint();
}

void LedgerWitness::raise_alarm(const Alarm& alarm) {
  // One alarm per incident: the same failure seen again next round (even at a head that grew
  // since) is the same incident; a different reason is news.
  auto [entry, inserted] = alarming_.emplace(alarm.portfolio_id, alarm.reason);
  if (!inserted) {
    if (entry->second == alarm.reason) return;
    entry->second = alarm.reason;
  }
  nlohmann::json details = alarm.details;
  details["witness"] = config_.key->public_key().key_id();
  details["reason"] = alarm.reason;
  log_line("error",
           "ledger witness ALARM: portfolio " + alarm.portfolio_id + ": " + alarm.reason +
               "; nothing is signed for it until this is resolved (docs/witness.md)",
           {{"event", "ledger_witness_alarm"},
            {"portfolio_id", alarm.portfolio_id},
            {"details", details}});
  metrics_.count_witness_alarm();
  metrics_.set_witness_alarming(alarming_.size());
  unaudited_.push_back({alarm.portfolio_id, alarm.reason, details});
}

void LedgerWitness::settle_alarm(const std::string& portfolio_id) {
  if (alarming_.erase(portfolio_id) == 0) return;
  metrics_.set_witness_alarming(alarming_.size());
  log_event("ledger witness: portfolio " + portfolio_id +
            " extends the tree the witness signed again; signing resumes");
}

void LedgerWitness::raise_round_alarm(const Alarm& alarm) {
  // The same fault round after round is one incident, as for a portfolio.
  if (round_alarm_ == alarm.reason) return;
  round_alarm_ = alarm.reason;
  nlohmann::json details = alarm.details;
  details["witness"] = config_.key->public_key().key_id();
  details["reason"] = alarm.reason;
  // No audit entry: the database's audit trail records an alarm against a portfolio, and
  // this one names none (it is about the listing itself, which the database got wrong).
  log_line("error",
           "ledger witness ALARM: " + alarm.reason +
               "; the round stops here and the portfolios after it are not witnessed until "
               "this is resolved (docs/witness.md)",
           {{"event", "ledger_witness_alarm"}, {"details", details}});
  metrics_.count_witness_alarm();
}

void LedgerWitness::settle_round_alarm() {
  if (round_alarm_.empty()) return;
  round_alarm_.clear();
  log_event("ledger witness: the database lists the portfolios in order again; rounds complete");
}

void LedgerWitness::flush_pending(pqxx::connection& connection) {
  while (!unrecorded_.empty()) {
    const ledger::Checkpoint& checkpoint = unrecorded_.front();
    try {
      pqxx::work tx(connection);
      tx.exec_params(
          "SELECT pgfolio.ledger_checkpoint_record($1::uuid, $2, decode($3, 'hex'), "
          "$4::timestamptz, $5, decode($6, 'hex'))",
          checkpoint.portfolio_id, checkpoint.tree_size, hex_encode(checkpoint.root_hash),
          checkpoint.signed_at, checkpoint.key_id, hex_encode(checkpoint.signature));
      tx.commit();
    } catch (const pqxx::sql_error& error) {
      if (!is_final_refusal(error)) throw;
      // Another checkpoint at that size (a second witness?) or a portfolio gone: asking
      // again would not help; the file keeps the checkpoint.
      log_line(
          "error",
          "ledger witness: the database refused the checkpoint of portfolio " +
              checkpoint.portfolio_id + " at size " + std::to_string(checkpoint.tree_size) + ": " +
              error.what(),
          {{"event", "ledger_witness_record_refused"}, {"portfolio_id", checkpoint.portfolio_id}});
    }
    unrecorded_.pop_front();
  }
  while (!unaudited_.empty()) {
    const Alarm& alarm = unaudited_.front();
    try {
      pqxx::work tx(connection);
      tx.exec_params("SELECT pgfolio.ledger_witness_alarm($1::uuid, $2::jsonb)", alarm.portfolio_id,
                     dump_json(alarm.details));
      tx.commit();
    } catch (const pqxx::sql_error& error) {
      if (!is_final_refusal(error)) throw;
      log_line("error",
               "ledger witness: the database refused the audit entry of the alarm for portfolio " +
                   alarm.portfolio_id + ": " + error.what(),
               {{"event", "ledger_witness_audit_refused"}, {"portfolio_id", alarm.portfolio_id}});
    }
    unaudited_.pop_front();
  }
}

}  // namespace pgfolio::http
