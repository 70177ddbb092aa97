// The offline verification of a JSON Lines export against signed checkpoints
// (docs/ledger-format.md §4), the library behind pgfolio-verify (docs/verify.md).
//
// Per portfolio it checks every line's entry hash and the chain (§2), each checkpoint's
// signature and keyId against the public key given, that the export reaches each checkpoint's
// treeSize and that the Merkle root of that many entries is the checkpoint's rootHash (§3).
// Lines are fed one at a time and only per-portfolio state is kept (a Merkle frontier, the
// chain's head, counts), so an export of millions of entries verifies in a few kilobytes per
// portfolio.
//
// A portfolio of the export that no checkpoint anchors fails by default: its chain being
// consistent proves nothing against whoever can write the table, who could have rebuilt it
// from its first entry (docs/verify.md). Unanchored::Allow accepts such a chain-only check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checkpoint.hpp"
#include "ledger_entry.hpp"
#include "merkle.hpp"
#include "signature.hpp"

namespace pgfolio::ledger {

// The problems beyond a chain's own (problem_name's words) that an export can have.
inline constexpr const char* kBadSignature = "bad signature";
inline constexpr const char* kOtherKey = "signed by another key";
inline constexpr const char* kExportTooShort = "export shorter than checkpoint";
inline constexpr const char* kNotInExport = "not in the export";
inline constexpr const char* kNoCheckpoint = "no checkpoint";

// Whether a portfolio with lines in the export but no checkpoint of a non-empty tree fails
// (kNoCheckpoint) or is reported ok with checkpoint_size 0.
enum class Unanchored { Fail, Allow };

// A line of nothing but JSON whitespace: the export's (and a checkpoint file's) blank lines.
bool is_blank_line(std::string_view line);

// The verdict on one portfolio: ok, or the first problem found, after which its later lines
// are not checked.
struct PortfolioVerdict {
  // Empty for the verdict on lines that name no portfolio (not JSON, no valid portfolioId, a
  // blank line before the end).
  std::string portfolio_id;
  std::uint64_t entries = 0;          // entries verified along the chain, from seq 1
  std::uint64_t checkpoints = 0;      // checkpoints whose root matched
  std::uint64_t checkpoint_size = 0;  // the largest treeSize among those
  bool ok = true;
  std::string problem;  // problem_name's words or one of the constants above; empty when ok
  // Where: the seq of the first entry that is not verified (chain problems, an export too
  // short), the line number of a line that is not an entry at all, or the treeSize of the
  // checkpoint concerned (bad signature, checkpoint mismatch, not in the export); none for
  // no checkpoint.
  std::optional<std::uint64_t> seq;
  std::optional<std::uint64_t> line;
  std::optional<std::uint64_t> tree_size;
  std::string detail;  // for a human: what a malformed line breaks, which seq came instead, ...
};

struct ExportReport {
  // Portfolios in the order of their first line in the export, then those only named by a
  // checkpoint, then (if any) the verdict on lines that name no portfolio.
  std::vector<PortfolioVerdict> verdicts;
  std::uint64_t lines = 0;  // lines read, blank ones at the end included
  std::uint64_t checkpoints_given = 0;
  std::uint64_t checkpoints_verified = 0;

  // True when every verdict is ok. Under Unanchored::Fail that includes every portfolio of the
  // export being anchored by a checkpoint; under Unanchored::Allow it proves less.
  bool holds() const;
};

class ExportVerifier {
 public:
  explicit ExportVerifier(ed25519::PublicKey key, Unanchored unanchored = Unanchored::Fail);

  // A checkpoint to hold the export to; its signature is checked at once. Every checkpoint is
  // added before the first line (std::logic_error otherwise). Several checkpoints of one
  // portfolio are all checked.
  void add_checkpoint(const Checkpoint& checkpoint);

  // The next line of the export, without its line break (a trailing \r is ignored as JSON
  // whitespace). Lines of different portfolios may come in any order; within a portfolio
  // they must come in seq order (anything else is a gap).
  void add_line(std::string_view line);

  // The verdicts, once the last line is in. Blank lines at the end are ignored.
  ExportReport finish();

 private:
  struct Expected {
    std::uint64_t tree_size;
    std::string root_hash;
  };
  struct Portfolio {
    PortfolioVerdict verdict;
    std::optional<std::uint64_t> first_line;
    ChainChecker chain;
    merkle::Frontier frontier;
    std::vector<Expected> checkpoints;  // sorted by tree_size once lines start
    std::size_t next_checkpoint = 0;
  };

  Portfolio& portfolio(const std::string& id);
  void fail(PortfolioVerdict& verdict, std::string problem, std::string detail = {});
  void malformed_line(Portfolio* portfolio, std::optional<std::uint64_t> seq, std::string why);
  void check_due_checkpoints(Portfolio& p);
  void start_lines();

  ed25519::PublicKey key_;
  Unanchored unanchored_;
  std::vector<Portfolio> portfolios_;
  std::unordered_map<std::string, std::size_t> index_;
  PortfolioVerdict unattributed_;
  std::uint64_t line_number_ = 0;
  std::optional<std::uint64_t> first_blank_line_;
  bool lines_started_ = false;
  std::uint64_t checkpoints_given_ = 0;
  std::uint64_t checkpoints_verified_ = 0;
};

}  // namespace pgfolio::ledger
