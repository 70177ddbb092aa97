// pgfolio-verify: checks a JSON Lines export of the ledger against signed checkpoints and the
// witness's public key, with no database (docs/verify.md). The work is ExportVerifier's in
// the core; this file reads files and arguments and prints the verdicts.
//
// Exit status: 0 when every chain and every checkpoint holds and every portfolio of the
// export is anchored by a checkpoint; 1 when anything fails, a portfolio has no checkpoint (a
// chain alone can be rebuilt from its first entry) or no checkpoint was given at all, unless
// --allow-unanchored accepts chains checked alone; 2 for usage and input errors (an
// unreadable file, a bad key, a checkpoint that cannot be read).
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint.hpp"
#include "export_verifier.hpp"
#include "signature.hpp"

namespace {

using pgfolio::ledger::Checkpoint;

constexpr int kHolds = 0;
constexpr int kFails = 1;
constexpr int kUsage = 2;

const char* const kUsageText =
    R"(usage: pgfolio-verify --export FILE.jsonl --public-key FILE [--checkpoint FILE]...
                      [--allow-unanchored]

Verifies a ledger export (GET /api/v1/history/export?format=jsonl) offline: every entry's
hash and each portfolio's chain, each checkpoint's Ed25519 signature and keyId, that the
export holds at least treeSize entries whose Merkle root is the checkpoint's rootHash, and
that every portfolio of the export has a checkpoint.

  --export FILE       the JSON Lines export; - reads standard input
  --public-key FILE   the witness's public key: PEM (-----BEGIN PUBLIC KEY-----) or 64 hex
                      digits, as GET /api/v1/ledger/public-key gives them
  --checkpoint FILE   one checkpoint JSON object, or JSON lines of several (the witness's
                      file); may be repeated, and every checkpoint given is checked
  --allow-unanchored  do not fail a portfolio of the export that no checkpoint covers: its
                      chain is still checked, which proves only that it is consistent in
                      itself, not that it was not rebuilt from its first entry
  --help              this text

Prints one line per portfolio and a summary:
  ok <portfolio> <n> entries, checkpoint size <m>
  FAILED <portfolio> seq <n>: <problem> (<detail>)
  FAILED <portfolio>: no checkpoint (<detail>)

Exit status: 0 when every chain and every checkpoint holds and every portfolio of the export
has a checkpoint; 1 when anything fails, a portfolio has no checkpoint or none was given
(unless --allow-unanchored); 2 for usage or input errors. See docs/verify.md.
)";

// An input problem: reported on stderr, exit status 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A usage problem: the same, plus a pointer to --help.
struct UsageError : InputError {
  using InputError::InputError;
};

struct Options {
  std::string export_path;
  std::string key_path;
  std::vector<std::string> checkpoint_paths;
  bool allow_unanchored = false;
  bool help = false;
};

Options parse_arguments(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--help" || argument == "-h") {
      options.help = true;
      continue;
    }
    if (argument == "--allow-unanchored") {
      options.allow_unanchored = true;
      continue;
    }
    std::string value;
    const std::size_t equals = argument.find('=');
    if (argument.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = argument.substr(equals + 1);
      argument.resize(equals);
    } else if (argument == "--export" || argument == "--public-key" || argument == "--checkpoint") {
      if (i + 1 == argc) throw UsageError(argument + " needs a file name");
      value = argv[++i];
    }
    if (argument == "--export") {
      if (!options.export_path.empty()) throw UsageError("--export given twice");
      options.export_path = value;
    } else if (argument == "--public-key") {
      if (!options.key_path.empty()) throw UsageError("--public-key given twice");
      options.key_path = value;
    } else if (argument == "--checkpoint") {
      options.checkpoint_paths.push_back(value);
    } else {
      throw UsageError("unknown argument " + argument);
    }
    if (value.empty()) throw UsageError(argument + " needs a file name");
  }
  if (!options.help && (options.export_path.empty() || options.key_path.empty()))
    throw UsageError("--export and --public-key are required");
  return options;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open " + path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw InputError("cannot read " + path);
  return content.str();
}

// One checkpoint object (pretty-printed or not) or JSON lines of several.
std::vector<Checkpoint> read_checkpoints(const std::string& path) {
  const std::string content = read_file(path);
  std::vector<std::pair<std::size_t, std::string>> lines;  // line number, text
  std::istringstream in(content);
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!pgfolio::ledger::is_blank_line(line)) lines.emplace_back(number, line);
  }
  if (lines.empty()) throw InputError(path + ": no checkpoint in the file");
  // A first line that is no JSON value by itself is the start of one object written over
  // several lines.
  if (lines.size() <= 1 || !nlohmann::json::accept(lines.front().second)) {
    try {
      return {pgfolio::ledger::parse_checkpoint(content)};
    } catch (const std::exception& e) {
      throw InputError(path + ": " + e.what());
    }
  }
  std::vector<Checkpoint> checkpoints;
  for (const auto& [line_number, line] : lines) {
    try {
      checkpoints.push_back(pgfolio::ledger::parse_checkpoint(line));
    } catch (const std::exception& e) {
      throw InputError(path + " line " + std::to_string(line_number) + ": " + e.what());
    }
  }
  return checkpoints;
}

std::string where(const pgfolio::ledger::PortfolioVerdict& v) {
  if (v.seq) return "seq " + std::to_string(*v.seq);
  if (v.line) return "line " + std::to_string(*v.line);
  if (v.tree_size) return "checkpoint treeSize " + std::to_string(*v.tree_size);
  return "";
}

void print(const pgfolio::ledger::PortfolioVerdict& v) {
  if (v.ok) {
    std::cout << "ok " << v.portfolio_id << ' ' << v.entries << " entries, ";
    if (v.checkpoints == 0) {
      std::cout << "no checkpoint\n";
    } else {
      std::cout << "checkpoint size " << v.checkpoint_size;
      if (v.checkpoints > 1) std::cout << " (" << v.checkpoints << " checkpoints)";
      std::cout << '\n';
    }
    return;
  }
  std::string subject = v.portfolio_id;
  const std::string place = where(v);
  if (!place.empty()) subject += (subject.empty() ? "" : " ") + place;
  std::cout << "FAILED " << subject << ": " << v.problem;
  if (!v.detail.empty()) std::cout << " (" << v.detail << ')';
  // A line that failed for a seq: say where it is in the file too.
  if (v.seq && v.line) std::cout << " at line " << *v.line;
  std::cout << '\n';
}

int run(const Options& options) {
  pgfolio::ed25519::PublicKey key = [&] {
    try {
      return pgfolio::ed25519::PublicKey::from_text(read_file(options.key_path));
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError(options.key_path + ": " + e.what());
    }
  }();
  pgfolio::ledger::ExportVerifier verifier(key, options.allow_unanchored
                                                    ? pgfolio::ledger::Unanchored::Allow
                                                    : pgfolio::ledger::Unanchored::Fail);
  for (const std::string& path : options.checkpoint_paths) {
    for (const Checkpoint& checkpoint : read_checkpoints(path)) verifier.add_checkpoint(checkpoint);
  }

  std::ifstream file;
  if (options.export_path != "-") {
    file.open(options.export_path, std::ios::binary);
    if (!file) throw InputError("cannot open " + options.export_path);
  }
  std::istream& in = options.export_path == "-" ? std::cin : file;
  // One line at a time: the verifier keeps per-portfolio state only, never the export.
  for (std::string line; std::getline(in, line);) verifier.add_line(line);
  if (in.bad()) throw InputError("cannot read " + options.export_path);

  const pgfolio::ledger::ExportReport report = verifier.finish();
  std::uint64_t portfolios = 0, entries = 0, failed = 0, unanchored = 0;
  for (const auto& verdict : report.verdicts) {
    print(verdict);
    portfolios += verdict.portfolio_id.empty() ? 0 : 1;  // not the verdict on unreadable lines
    entries += verdict.entries;
    failed += verdict.ok ? 0 : 1;
    // Failed for it, or (--allow-unanchored) accepted without one.
    const bool no_checkpoint = verdict.problem == pgfolio::ledger::kNoCheckpoint ||
                               (verdict.ok && verdict.entries > 0 && verdict.checkpoint_size == 0);
    unanchored += no_checkpoint ? 1 : 0;
  }
  std::cout << "summary: " << portfolios << " portfolios, " << entries << " entries verified, "
            << report.checkpoints_verified << " of " << report.checkpoints_given
            << " checkpoints verified, " << failed << " failed";
  if (report.checkpoints_given == 0) {
    std::cout << "; no checkpoint given, so nothing proves the chains were not rebuilt";
  } else if (unanchored > 0) {
    std::cout << "; " << unanchored << " portfolio" << (unanchored == 1 ? "" : "s")
              << " with no checkpoint, so nothing proves " << (unanchored == 1 ? "its" : "their")
              << " chain" << (unanchored == 1 ? " was" : "s were") << " not rebuilt";
  }
  if (unanchored > 0 && !options.allow_unanchored)
    std::cout << " (give a checkpoint of each portfolio, from GET /api/v1/ledger/checkpoints/"
                 "latest?portfolioId=, or --allow-unanchored to accept chains checked alone)";
  std::cout << '\n';
  // Nothing anchored at all (no checkpoint given) proves nothing, even of an empty export.
  const bool anchored = options.allow_unanchored || report.checkpoints_given > 0;
  return report.holds() && anchored ? kHolds : kFails;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    const Options options = parse_arguments(argc, argv);
    if (options.help) {
      std::cout << kUsageText;
      return kHolds;
    }
    return run(options);
  } catch (const UsageError& e) {
    std::cerr << "pgfolio-verify: " << e.what() << "\nTry pgfolio-verify --help.\n";
    return kUsage;
  } catch (const InputError& e) {
    std::cerr << "pgfolio-verify: " << e.what() << '\n';
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "pgfolio-verify: " << e.what() << '\n';
    return kUsage;
  }
}
