#include "export_verifier.hpp"

#include <algorithm>
#include <stdexcept>

#include "canonical_json.hpp"
#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

// 32 raw bytes from a member holding 64 lowercase hex digits; std::nullopt otherwise. The
// format writes hashes in lowercase only, so that each has one text form.
std::optional<std::string> lowercase_hash(const json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_string()) return std::nullopt;
  const std::string& hex = found->get_ref<const std::string&>();
  return hash_from_hex(hex);
}

std::string describe_seq(std::uint64_t expected, std::optional<std::uint64_t> found) {
  return "expected seq " + std::to_string(expected) +
         (found ? ", found seq " + std::to_string(*found) : std::string());
}

}  // namespace

bool is_blank_line(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool ExportReport::holds() const {
  return std::all_of(verdicts.begin(), verdicts.end(),
                     [](const PortfolioVerdict& v) { return v.ok; });
}

ExportVerifier::ExportVerifier(ed25519::PublicKey key, Unanchored unanchored)
    : key_(std::move(key)), unanchored_(unanchored) {}

ExportVerifier::Portfolio& ExportVerifier::portfolio(const std::string& id) {
  auto [found, inserted] = index_.try_emplace(id, portfolios_.size());
  if (inserted) {
    portfolios_.emplace_back();
    portfolios_.back().verdict.portfolio_id = id;
  }
  return portfolios_[found->second];
}

void ExportVerifier::fail(PortfolioVerdict& verdict, std::string problem, std::string detail) {
  verdict.ok = false;
  verdict.problem = std::move(problem);
  verdict.detail = std::move(detail);
}

void ExportVerifier::malformed_line(Portfolio* p, std::optional<std::uint64_t> seq,
                                    std::string why) {
  PortfolioVerdict& verdict = p ? p->verdict : unattributed_;
  if (!verdict.ok) return;
  fail(verdict, problem_name(Problem::Malformed), std::move(why));
  verdict.seq = seq;
  verdict.line = line_number_;
}

void ExportVerifier::add_checkpoint(const Checkpoint& checkpoint) {
  if (lines_started_) throw std::logic_error("checkpoints must be added before the export");
  ++checkpoints_given_;
  Portfolio& p = portfolio(checkpoint.portfolio_id);
  p.checkpoints.push_back({checkpoint.tree_size, checkpoint.root_hash});
  if (!p.verdict.ok) return;
  // keyId first: "signed by another key" tells the user to fetch the right key, where "bad
  // signature" means the checkpoint itself was altered.
  if (checkpoint.key_id != key_.key_id()) {
    fail(p.verdict, kOtherKey, "keyId " + checkpoint.key_id + ", key given " + key_.key_id());
  } else if (!verify_checkpoint_signature(checkpoint, key_)) {
    fail(p.verdict, kBadSignature);
  }
  if (!p.verdict.ok) p.verdict.tree_size = checkpoint.tree_size;
}

void ExportVerifier::start_lines() {
  lines_started_ = true;
  for (Portfolio& p : portfolios_) {
    std::stable_sort(
        p.checkpoints.begin(), p.checkpoints.end(),
        [](const Expected& a, const Expected& b) { return a.tree_size < b.tree_size; });
  }
}

void ExportVerifier::check_due_checkpoints(Portfolio& p) {
  const std::uint64_t size = p.frontier.size();
  if (!p.verdict.ok || p.next_checkpoint == p.checkpoints.size() ||
      p.checkpoints[p.next_checkpoint].tree_size != size)
    return;
  const std::string root = p.frontier.root();
  for (; p.next_checkpoint < p.checkpoints.size() &&
         p.checkpoints[p.next_checkpoint].tree_size == size;
       ++p.next_checkpoint) {
    if (!constant_time_equal(root, p.checkpoints[p.next_checkpoint].root_hash)) {
      fail(p.verdict, problem_name(Problem::CheckpointMismatch),
           "the Merkle root of the first " + std::to_string(size) +
               " entries is not the checkpoint's rootHash");
      p.verdict.tree_size = size;
      return;
    }
    ++p.verdict.checkpoints;
    p.verdict.checkpoint_size = size;
    ++checkpoints_verified_;
  }
}

void ExportVerifier::add_line(std::string_view line) {
  if (!lines_started_) start_lines();
  ++line_number_;
  if (is_blank_line(line)) {
    if (!first_blank_line_) first_blank_line_ = line_number_;
    return;
  }
  if (first_blank_line_) {
    // A blank line followed by more lines is not the end of the file: say where it was.
    const std::uint64_t current = line_number_;
    line_number_ = *first_blank_line_;
    malformed_line(nullptr, std::nullopt, "blank line");
    line_number_ = current;
    first_blank_line_.reset();
  }

  json object;
  try {
    // Strictly: a duplicate member name (which a parsed object no longer shows: the last
    // would silently win) makes the line malformed.
    object = parse_json_strict(line);
  } catch (const std::exception& e) {
    malformed_line(nullptr, std::nullopt, e.what());
    return;
  }
  auto id = object.is_object() ? object.find("portfolioId") : object.end();
  if (id == object.end() || !id->is_string() ||
      !is_lowercase_uuid(id->get_ref<const std::string&>())) {
    malformed_line(nullptr, std::nullopt, "not an entry with a lowercase UUID portfolioId");
    return;
  }
  Portfolio& p = portfolio(id->get<std::string>());
  if (!p.first_line) {
    p.first_line = line_number_;
    check_due_checkpoints(p);  // a checkpoint of the empty tree
  }
  if (!p.verdict.ok) return;

  auto seq_member = object.find("seq");
  const std::optional<std::uint64_t> seq =
      seq_member != object.end() && seq_member->is_number_unsigned()
          ? std::optional<std::uint64_t>(seq_member->get<std::uint64_t>())
          : std::nullopt;
  const std::optional<std::string> prev_hash = lowercase_hash(object, "prevHash");
  const std::optional<std::string> stored_hash = lowercase_hash(object, "entryHash");
  std::string computed_hash;
  std::string why;
  if (!stored_hash) {
    why = "entryHash must be 64 lowercase hex digits";
  } else {
    object.erase("entryHash");
    try {
      computed_hash = sha256(canonical_bytes_of_object(object));
    } catch (const Error& e) {
      why = e.what();
    }
  }
  const std::uint64_t expected = p.chain.verified() + 1;
  if (!seq || !prev_hash) {
    // Without its seq and prevHash the line cannot even be placed in the chain.
    malformed_line(&p, expected, why.empty() ? "seq or prevHash unreadable" : why);
    return;
  }
  // The chain checker decides the order of problems (gap, then link, then the entry itself),
  // the same for every verifier of the format.
  const Problem problem =
      p.chain.check(*seq, *prev_hash, stored_hash.value_or(std::string()), computed_hash);
  if (problem != Problem::None) {
    if (problem == Problem::Malformed) {
      malformed_line(&p, expected, why);
      return;
    }
    fail(p.verdict, problem_name(problem),
         problem == Problem::Gap ? describe_seq(expected, seq) : std::string());
    p.verdict.seq = expected;
    p.verdict.line = line_number_;
    return;
  }
  p.frontier.append(merkle::leaf_hash(*stored_hash));
  p.verdict.entries = p.chain.verified();
  check_due_checkpoints(p);
}

ExportReport ExportVerifier::finish() {
  if (!lines_started_) start_lines();
  ExportReport report;
  report.lines = line_number_;
  report.checkpoints_given = checkpoints_given_;
  report.checkpoints_verified = checkpoints_verified_;
  for (Portfolio& p : portfolios_) {
    if (!p.verdict.ok || p.next_checkpoint == p.checkpoints.size()) continue;
    const std::uint64_t wanted = p.checkpoints[p.next_checkpoint].tree_size;
    p.verdict.tree_size = wanted;
    if (!p.first_line) {
      // Nothing in the export speaks for this portfolio: the checkpoint proves nothing here.
      fail(p.verdict, kNotInExport, "the export holds no line of this portfolio");
    } else {
      fail(p.verdict, kExportTooShort,
           "checkpoint treeSize " + std::to_string(wanted) + ", export has " +
               std::to_string(p.verdict.entries) + " entries");
      p.verdict.seq = p.verdict.entries + 1;
    }
  }
  if (unanchored_ == Unanchored::Fail) {
    for (Portfolio& p : portfolios_) {
      // A checkpoint of the empty tree anchors none of the entries: only one of at least one
      // entry, verified against the export, does.
      if (!p.verdict.ok || !p.first_line || p.verdict.checkpoint_size > 0) continue;
      fail(p.verdict, kNoCheckpoint,
           "its chain of " + std::to_string(p.verdict.entries) +
               " entries is consistent, but no checkpoint of this portfolio was given: a chain "
               "alone could have been rebuilt from its first entry");
    }
  }
  std::vector<Portfolio*> order;
  for (Portfolio& p : portfolios_) order.push_back(&p);
  // In the export's order; portfolios only named by checkpoints after, in the order given.
  std::stable_sort(order.begin(), order.end(), [](const Portfolio* a, const Portfolio* b) {
    return a->first_line.value_or(UINT64_MAX) < b->first_line.value_or(UINT64_MAX);
  });
  for (const Portfolio* p : order) report.verdicts.push_back(p->verdict);
  if (!unattributed_.ok) report.verdicts.push_back(unattributed_);
  return report;
}

}  // namespace pgfolio::ledger
