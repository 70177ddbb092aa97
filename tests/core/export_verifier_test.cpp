// The offline verifier behind pgfolio-verify: real exports built here from ledger entries
// (hashed by the core, Merkle roots by merkle::root, checkpoints signed with a fresh key),
// then each tampering of issue 4 applied to the export text or the checkpoints.
#include "export_verifier.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <stdexcept>

#include "digest.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

const std::string kA = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const std::string kB = "f0e1d2c3-b4a5-4968-8776-655443322110";

// A chain of `count` entries of one portfolio; `amount_bump` alters every amount, as someone
// rebuilding the chain from its first entry with other data would.
std::vector<Entry> chain(const std::string& portfolio, std::uint64_t count, int amount_bump = 0) {
  std::vector<Entry> entries;
  std::string prev(32, '\0');
  for (std::uint64_t seq = 1; seq <= count; ++seq) {
    Entry e;
    e.portfolio_id = portfolio;
    e.seq = seq;
    e.created_at =
        utc_timestamp(1'790'000'000'000'000 + static_cast<std::int64_t>(seq) * 1'000'250);
    e.prev_hash = prev;
    if (seq == 1) {
      e.entry_type = "PORTFOLIO_CREATED";
      e.snapshot_after =
          canonical_ledger_json(json{{"cash", "0"}, {"holdings", json::array()}}, "snapshotAfter");
    } else if (seq % 3 == 0) {
      e.entry_type = "TRADE_BUY";
      e.asset_id = "GOLD";
      e.quantity = "0.5";
      e.amount = std::to_string(3050 + amount_bump) + ".25";
      e.boundary = "SAFE";
      e.message = "Bought 0.5 GOLD";
      e.metadata = canonical_ledger_json(json{{"price", "6100.5"}, {"lot", seq}}, "metadata");
    } else {
      e.entry_type = "ADD_FUNDS";
      e.amount = std::to_string(1000 * seq + amount_bump) + ".5";
      e.message = "Added funds — ₹";
    }
    prev = entry_hash(e);
    entries.push_back(e);
  }
  return entries;
}

std::string line_of(const Entry& e) {
  // Not the canonical line: a verifier must not depend on member order or spacing.
  return json::parse(export_line(e, entry_hash(e))).dump();
}

std::vector<std::string> lines_of(const std::vector<Entry>& entries) {
  std::vector<std::string> lines;
  for (const Entry& e : entries) lines.push_back(line_of(e));
  return lines;
}

// The checkpoint of the first `size` entries, its root computed over the whole leaf list by
// merkle::root, not by the frontier the verifier uses.
Checkpoint checkpoint_of(const std::vector<Entry>& entries, std::uint64_t size,
                         const ed25519::PrivateKey& key) {
  std::vector<std::string> leaves;
  for (std::uint64_t i = 0; i < size; ++i) leaves.push_back(entry_hash(entries[i]));
  return sign_checkpoint(entries.front().portfolio_id, size, merkle::root(leaves),
                         "2026-11-22T04:19:02.123400Z", key);
}

ExportReport verify(const std::vector<std::string>& lines,
                    const std::vector<Checkpoint>& checkpoints, const ed25519::PublicKey& key,
                    Unanchored unanchored = Unanchored::Fail) {
  ExportVerifier verifier(key, unanchored);
  for (const Checkpoint& c : checkpoints) verifier.add_checkpoint(c);
  for (const std::string& line : lines) verifier.add_line(line);
  return verifier.finish();
}

const PortfolioVerdict& verdict_of(const ExportReport& report, const std::string& portfolio) {
  for (const PortfolioVerdict& v : report.verdicts) {
    if (v.portfolio_id == portfolio) return v;
  }
  throw std::runtime_error("no verdict for " + portfolio);
}

class ExportVerifierTest : public ::testing::Test {
 protected:
  ed25519::PrivateKey key = ed25519::PrivateKey::generate();
  std::vector<Entry> a = chain(kA, 12);
  std::vector<Entry> b = chain(kB, 8);
  std::vector<Checkpoint> checkpoints = {checkpoint_of(a, 10, key), checkpoint_of(a, 12, key),
                                         checkpoint_of(b, 3, key), checkpoint_of(b, 8, key)};

  // A's lines then B's.
  std::vector<std::string> export_lines() const {
    std::vector<std::string> lines = lines_of(a);
    for (const std::string& line : lines_of(b)) lines.push_back(line);
    return lines;
  }
  ExportReport run(const std::vector<std::string>& lines) const {
    return verify(lines, checkpoints, key.public_key());
  }
  // Expects portfolio A to fail with `problem` at `seq`, and B to hold.
  void expect_a_fails(const ExportReport& report, const std::string& problem,
                      std::optional<std::uint64_t> seq) const {
    EXPECT_FALSE(report.holds());
    const PortfolioVerdict& v = verdict_of(report, kA);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.problem, problem) << v.detail;
    EXPECT_EQ(v.seq, seq);
    EXPECT_TRUE(verdict_of(report, kB).ok);
  }
};

TEST_F(ExportVerifierTest, GoodExportHolds) {
  const ExportReport report = run(export_lines());
  ASSERT_TRUE(report.holds());
  ASSERT_EQ(report.verdicts.size(), 2u);
  EXPECT_EQ(report.verdicts[0].portfolio_id, kA);
  EXPECT_EQ(report.verdicts[0].entries, 12u);
  EXPECT_EQ(report.verdicts[0].checkpoints, 2u);
  EXPECT_EQ(report.verdicts[0].checkpoint_size, 12u);
  EXPECT_EQ(report.verdicts[1].portfolio_id, kB);
  EXPECT_EQ(report.verdicts[1].entries, 8u);
  EXPECT_EQ(report.verdicts[1].checkpoint_size, 8u);
  EXPECT_EQ(report.checkpoints_given, 4u);
  EXPECT_EQ(report.checkpoints_verified, 4u);
  EXPECT_EQ(report.lines, 20u);
}

TEST_F(ExportVerifierTest, PortfoliosInAnyOrderAndLinesInAnyForm) {
  // B first, then A; portfolios interleaved; member order and whitespace changed; CRLF line
  // ends; blank lines at the end.
  std::vector<std::string> lines = lines_of(b);
  for (const std::string& line : lines_of(a)) lines.push_back(json::parse(line).dump(1) + "\r");
  std::vector<std::string> interleaved;
  for (std::size_t i = 0; i < 12; ++i) {
    interleaved.push_back(lines[8 + i]);
    if (i < 8) interleaved.push_back(lines[i]);
  }
  interleaved.push_back("");
  interleaved.push_back("  \r");
  for (const auto& order : {lines, interleaved}) {
    const ExportReport report = run(order);
    EXPECT_TRUE(report.holds());
    EXPECT_EQ(report.checkpoints_verified, 4u);
  }
  EXPECT_EQ(run(lines).verdicts[0].portfolio_id, kB);
  EXPECT_EQ(run(interleaved).verdicts[0].portfolio_id, kA);
}

TEST_F(ExportVerifierTest, ExportLongerThanTheCheckpointsHolds) {
  checkpoints = {checkpoint_of(a, 5, key), checkpoint_of(b, 1, key)};
  const ExportReport report = run(export_lines());
  EXPECT_TRUE(report.holds());
  EXPECT_EQ(verdict_of(report, kA).entries, 12u);
  EXPECT_EQ(verdict_of(report, kA).checkpoint_size, 5u);
}

TEST_F(ExportVerifierTest, ChangedAmountInTheMiddleIsAHashMismatch) {
  std::vector<std::string> lines = export_lines();
  json edited = json::parse(lines[5]);  // A's seq 6
  ASSERT_EQ(edited["seq"], 6);
  edited["amount"] = "6000.51";
  lines[5] = edited.dump();
  const ExportReport report = run(lines);
  expect_a_fails(report, "hash mismatch", 6);
  EXPECT_EQ(verdict_of(report, kA).line, 6u);
  EXPECT_EQ(verdict_of(report, kA).entries, 5u);
}

TEST_F(ExportVerifierTest, ChangedAmountWithItsHashRecomputedIsALinkMismatch) {
  std::vector<std::string> lines = export_lines();
  Entry edited = a[5];
  edited.amount = "6000.51";
  lines[5] = line_of(edited);
  expect_a_fails(run(lines), "link mismatch", 7);
}

TEST_F(ExportVerifierTest, DeletedMiddleLineIsAGap) {
  std::vector<std::string> lines = export_lines();
  lines.erase(lines.begin() + 5);  // A's seq 6
  const ExportReport report = run(lines);
  expect_a_fails(report, "gap", 6);
  EXPECT_EQ(verdict_of(report, kA).detail, "expected seq 6, found seq 7");
}

TEST_F(ExportVerifierTest, LinesOutOfSeqOrderAreAGap) {
  std::vector<std::string> lines = export_lines();
  std::swap(lines[3], lines[4]);  // A's seq 4 and 5
  expect_a_fails(run(lines), "gap", 4);
  lines = export_lines();
  lines.insert(lines.begin() + 6, lines[5]);  // seq 6 twice
  expect_a_fails(run(lines), "gap", 7);
  lines = export_lines();
  lines.erase(lines.begin());  // no seq 1
  expect_a_fails(run(lines), "gap", 1);
}

TEST_F(ExportVerifierTest, TruncatedExportIsShorterThanTheCheckpoint) {
  std::vector<std::string> lines = export_lines();
  lines.erase(lines.begin() + 9, lines.begin() + 12);  // A's newest three: 9 entries left
  const ExportReport report = run(lines);
  expect_a_fails(report, kExportTooShort, 10);
  EXPECT_EQ(verdict_of(report, kA).tree_size, 10u);
  EXPECT_EQ(verdict_of(report, kA).entries, 9u);
  // Checked as chains alone, the shortened one holds: only a checkpoint catches it.
  EXPECT_TRUE(verify(lines, {}, key.public_key(), Unanchored::Allow).holds());
}

TEST_F(ExportVerifierTest, ChainRebuiltFromGenesisFailsTheCheckpoint) {
  const std::vector<Entry> rebuilt = chain(kA, 12, 7);
  ASSERT_NE(entry_hash(rebuilt[1]), entry_hash(a[1]));
  std::vector<std::string> lines = lines_of(rebuilt);
  for (const std::string& line : lines_of(b)) lines.push_back(line);
  // The rebuilt chain is internally consistent (and, without a checkpoint, unanchored)...
  EXPECT_TRUE(verify(lines, {}, key.public_key(), Unanchored::Allow).holds());
  EXPECT_EQ(verdict_of(verify(lines, {}, key.public_key()), kA).problem, kNoCheckpoint);
  // ...but not the one the witness signed.
  const ExportReport report = run(lines);
  expect_a_fails(report, "checkpoint mismatch", std::nullopt);
  EXPECT_EQ(verdict_of(report, kA).tree_size, 10u);
  EXPECT_EQ(verdict_of(report, kA).entries, 10u);
  EXPECT_EQ(verdict_of(report, kA).checkpoints, 0u);
}

TEST_F(ExportVerifierTest, CheckpointByAnotherKeyOrAlteredIsRefused) {
  const ed25519::PrivateKey other = ed25519::PrivateKey::generate();
  checkpoints[0] = checkpoint_of(a, 10, other);
  ExportReport report = run(export_lines());
  expect_a_fails(report, kOtherKey, std::nullopt);
  EXPECT_EQ(verdict_of(report, kA).tree_size, 10u);

  // keyId edited to name the key given: the signature still does not verify.
  checkpoints[0].key_id = key.public_key().key_id();
  expect_a_fails(run(export_lines()), kBadSignature, std::nullopt);

  // The right key, then one bit of the signature, or the signed treeSize, altered.
  checkpoints[0] = checkpoint_of(a, 10, key);
  checkpoints[0].signature[17] = static_cast<char>(checkpoints[0].signature[17] ^ 0x10);
  expect_a_fails(run(export_lines()), kBadSignature, std::nullopt);
  checkpoints[0] = checkpoint_of(a, 10, key);
  checkpoints[0].tree_size = 9;
  expect_a_fails(run(export_lines()), kBadSignature, std::nullopt);

  // Every checkpoint verified with a public key that is not the witness's.
  report = verify(export_lines(), {checkpoint_of(a, 10, key), checkpoint_of(b, 8, key)},
                  other.public_key());
  EXPECT_FALSE(verdict_of(report, kA).ok);
  EXPECT_FALSE(verdict_of(report, kB).ok);
  EXPECT_EQ(verdict_of(report, kB).problem, kOtherKey);
  EXPECT_EQ(report.checkpoints_verified, 0u);
}

TEST_F(ExportVerifierTest, ForkedCheckpointsOfOneSizeFail) {
  // Two signed roots for A's size 10: at most one can be this export's.
  std::vector<Entry> fork = chain(kA, 10, 1);
  checkpoints.push_back(checkpoint_of(fork, 10, key));
  const ExportReport report = run(export_lines());
  expect_a_fails(report, "checkpoint mismatch", std::nullopt);
}

TEST_F(ExportVerifierTest, CheckpointOfAPortfolioNotInTheExportFails) {
  std::vector<std::string> lines = lines_of(b);
  const ExportReport report = run(lines);
  expect_a_fails(report, kNotInExport, std::nullopt);
  ASSERT_EQ(report.verdicts.size(), 2u);
  EXPECT_EQ(report.verdicts[1].portfolio_id, kA);  // after those of the export
}

TEST_F(ExportVerifierTest, CheckpointOfTheEmptyTree) {
  Checkpoint empty = sign_checkpoint(kA, 0, sha256(""), "2026-11-22T04:19:02.123400Z", key);
  checkpoints = {empty, checkpoint_of(b, 8, key)};
  // It verifies, but anchors none of A's entries: A is still unanchored.
  ExportReport report = run(export_lines());
  EXPECT_EQ(report.checkpoints_verified, 2u);
  expect_a_fails(report, kNoCheckpoint, std::nullopt);
  checkpoints.push_back(checkpoint_of(a, 1, key));
  report = run(export_lines());
  EXPECT_TRUE(report.holds());
  EXPECT_EQ(report.checkpoints_verified, 3u);
  checkpoints = {sign_checkpoint(kA, 0, std::string(32, '\0'), "2026-11-22T04:19:02.123400Z", key),
                 checkpoint_of(a, 12, key), checkpoint_of(b, 8, key)};
  expect_a_fails(run(export_lines()), "checkpoint mismatch", std::nullopt);
}

TEST_F(ExportVerifierTest, PortfolioWithoutACheckpointFails) {
  // A user's export holds all their portfolios; the checkpoints given cover only B (as
  // GET /ledger/checkpoints/latest without portfolioId gives the default portfolio's).
  checkpoints = {checkpoint_of(b, 3, key), checkpoint_of(b, 8, key)};
  ExportReport report = run(export_lines());
  expect_a_fails(report, kNoCheckpoint, std::nullopt);
  const PortfolioVerdict& v = verdict_of(report, kA);
  EXPECT_EQ(v.entries, 12u);  // its chain was checked, and holds
  EXPECT_EQ(v.checkpoints, 0u);
  EXPECT_FALSE(v.line);
  EXPECT_FALSE(v.tree_size);
  EXPECT_NE(v.detail.find("no checkpoint of this portfolio"), std::string::npos) << v.detail;
  EXPECT_EQ(report.checkpoints_verified, 2u);

  // A chain that breaks reports its own problem, not the missing checkpoint.
  std::vector<std::string> lines = export_lines();
  lines.erase(lines.begin() + 5);
  expect_a_fails(run(lines), "gap", 6);

  // Accepted when chain-only checking is asked for: ok, with no checkpoint size.
  report = verify(export_lines(), checkpoints, key.public_key(), Unanchored::Allow);
  EXPECT_TRUE(report.holds());
  EXPECT_TRUE(verdict_of(report, kA).ok);
  EXPECT_EQ(verdict_of(report, kA).checkpoint_size, 0u);
  EXPECT_EQ(verdict_of(report, kB).checkpoint_size, 8u);
  // ...which still fails a broken chain and a checkpoint that does not match.
  EXPECT_FALSE(verify(lines, checkpoints, key.public_key(), Unanchored::Allow).holds());
  checkpoints.push_back(checkpoint_of(chain(kB, 8, 1), 8, key));
  EXPECT_FALSE(verify(export_lines(), checkpoints, key.public_key(), Unanchored::Allow).holds());
}

TEST_F(ExportVerifierTest, MalformedLines) {
  auto edited = [this](std::size_t index, const std::function<void(json&)>& edit) {
    std::vector<std::string> lines = export_lines();
    json object = json::parse(lines[index]);
    edit(object);
    lines[index] = object.dump();
    return lines;
  };
  const std::string malformed = problem_name(Problem::Malformed);
  // Lines that are A's seq 6 but break the format: malformed at that seq.
  for (const auto& edit : std::vector<std::function<void(json&)>>{
           [](json& o) { o["extra"] = 1; }, [](json& o) { o.erase("boundary"); },
           [](json& o) { o.erase("entryHash"); },
           [](json& o) {  // the right hash in upper case
             std::string hash = o["entryHash"];
             for (char& c : hash) c = static_cast<char>(std::toupper(c));
             o["entryHash"] = hash;
           },
           [](json& o) { o["entryHash"] = std::string(64, 'A'); },
           [](json& o) { o["amount"] = "6000.50"; },
           [](json& o) {
             o["metadata"] = json{{"price", 6100.5}};
           },
           [](json& o) { o["format"] = "pgfolio-ledger-entry/2"; }}) {
    const std::vector<std::string> lines = edited(5, edit);
    SCOPED_TRACE(lines[5]);
    const ExportReport report = run(lines);
    expect_a_fails(report, malformed, 6);
    EXPECT_EQ(verdict_of(report, kA).line, 6u);
    EXPECT_FALSE(verdict_of(report, kA).detail.empty());
  }
  // seq or prevHash unreadable: the line cannot be placed; reported at the expected seq.
  for (const auto& edit : std::vector<std::function<void(json&)>>{
           [](json& o) { o["seq"] = "6"; }, [](json& o) { o["prevHash"] = nullptr; }}) {
    expect_a_fails(run(edited(5, edit)), malformed, 6);
  }
}

TEST_F(ExportVerifierTest, LinesThatNameNoPortfolio) {
  const std::string entry = export_lines()[5];
  const std::string duplicate = entry.substr(0, entry.size() - 1) + R"(,"amount":"1"})";
  std::string upper_portfolio = entry;
  upper_portfolio.replace(upper_portfolio.find(kA), kA.size(),
                          "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D");
  for (const std::string& bad :
       {std::string("{not json"), std::string("[]"), std::string("42"), duplicate, upper_portfolio,
        std::string(R"({"portfolioId":null})"), entry + entry}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> lines = export_lines();
    lines.insert(lines.begin() + 12, bad);  // between A and B: both chains stay whole
    const ExportReport report = run(lines);
    EXPECT_FALSE(report.holds());
    ASSERT_EQ(report.verdicts.size(), 3u);
    const PortfolioVerdict& v = report.verdicts.back();
    EXPECT_EQ(v.portfolio_id, "");
    EXPECT_EQ(v.problem, problem_name(Problem::Malformed));
    EXPECT_EQ(v.line, 13u);
    EXPECT_TRUE(verdict_of(report, kA).ok);
    EXPECT_TRUE(verdict_of(report, kB).ok);
  }
  // Replacing an entry, the unreadable line also leaves a gap in its chain.
  std::vector<std::string> lines = export_lines();
  lines[5] = "{not json";
  const ExportReport report = run(lines);
  expect_a_fails(report, "gap", 6);
  EXPECT_EQ(report.verdicts.back().line, 6u);
}

TEST_F(ExportVerifierTest, BlankLineBeforeTheEndIsMalformed) {
  std::vector<std::string> lines = export_lines();
  lines.insert(lines.begin() + 12, "");
  lines.insert(lines.begin() + 13, " ");
  const ExportReport report = run(lines);
  EXPECT_FALSE(report.holds());
  EXPECT_EQ(report.verdicts.back().portfolio_id, "");
  EXPECT_EQ(report.verdicts.back().line, 13u);
  EXPECT_EQ(report.verdicts.back().detail, "blank line");
}

TEST_F(ExportVerifierTest, NoLinesAtAll) {
  // No portfolio to anchor: the verifier has nothing against it (pgfolio-verify still fails
  // a run given no checkpoint at all).
  const ExportReport report = verify({}, {}, key.public_key());
  EXPECT_TRUE(report.holds());
  EXPECT_TRUE(report.verdicts.empty());
  EXPECT_FALSE(run({}).holds());  // the checkpoints speak of portfolios the export lacks
}

TEST(ExportVerifierBlankLine, OnlyJsonWhitespace) {
  for (const char* blank : {"", " ", "\t", "\r", " \t\r\n "}) EXPECT_TRUE(is_blank_line(blank));
  // Not JSON whitespace: a non-breaking space, a form feed, a vertical tab.
  for (const char* other : {"\xc2\xa0", "\f", "\v", " x "}) EXPECT_FALSE(is_blank_line(other));
}

TEST_F(ExportVerifierTest, CheckpointsComeBeforeTheLines) {
  ExportVerifier verifier(key.public_key());
  verifier.add_line(export_lines()[0]);
  EXPECT_THROW(verifier.add_checkpoint(checkpoints[0]), std::logic_error);
}

}  // namespace
}  // namespace pgfolio::ledger
