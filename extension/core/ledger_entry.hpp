// The ledger's entry format (docs/ledger-format.md): the canonical bytes an entry's hash
// covers, and the checks a verifier runs along a portfolio's chain. Shared by the extension
// (ledger_append, ledger_verify, ledger_entry_hash) and the offline verifier pgfolio-verify,
// so that both hash exactly the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pgfolio::ledger {

// Written into every entry object, so that a later format can never be mistaken for this one.
inline constexpr const char* kEntryFormat = "pgfolio-ledger-entry/1";
// The largest seq and JSON integer the format allows: 2^53 - 1, the integers a double holds
// exactly, so JCS writes them as plain digits.
inline constexpr std::uint64_t kMaxExactInteger = (std::uint64_t{1} << 53) - 1;

// One entry, field by field, as the database holds it. Decimals are canonical (§1.1: use
// canonical_decimal), created_at is the §1.2 text, prev_hash the 32 raw bytes, and the JSON
// members are already in their canonical form (§1.4: use canonical_ledger_json), so that the
// database can write them straight from jsonb without building a JSON tree.
struct Entry {
  std::string portfolio_id;
  std::uint64_t seq = 0;
  std::string entry_type;
  std::optional<std::string> asset_id;
  std::optional<std::string> quantity;
  std::optional<std::string> amount;
  std::optional<std::string> boundary;
  std::optional<std::string> loan_id;
  std::optional<std::string> protection_id;
  std::optional<std::string> message;
  std::string metadata = "{}";                 // a canonical JSON object
  std::optional<std::string> snapshot_before;  // a canonical JSON object, or none (null)
  std::optional<std::string> snapshot_after;
  std::string created_at;
  std::string prev_hash;
};

// The canonical bytes of an entry: JCS of its entry object (§1). Throws
// Error(VALIDATION_ERROR) naming the field when a field breaks the format (a UUID not in
// lowercase form, a decimal not canonical, a prev_hash not 32 bytes, ...).
std::string canonical_bytes(const Entry& entry);

// One line of the JSON Lines export (§4): the entry object plus entryHash, in canonical form.
std::string export_line(const Entry& entry, std::string_view entry_hash);

// §1.4: the canonical text of a JSON value for an entry's metadata or snapshot, refusing with
// Error(VALIDATION_ERROR) naming `field` any number that is not an integer of magnitude at
// most 2^53 (the numbers JCS writes exactly).
std::string canonical_ledger_json(const nlohmann::json& value, const std::string& field);

// SHA-256 of the canonical bytes: the entry hash (32 raw bytes).
std::string entry_hash(const Entry& entry);

// The canonical bytes of an entry object read from an export line (the line's object without
// entryHash). Throws Error(VALIDATION_ERROR) when a member is missing, extra or of the wrong
// type or form: a verifier reports such a line as malformed rather than hashing it.
std::string canonical_bytes_of_object(const nlohmann::json& entry_object);

// §1.1: the canonical decimal of a plain decimal text as PostgreSQL's numeric prints it
// ("-0012.3400" -> "-12.34"). Throws Error(VALIDATION_ERROR) on anything else (NaN, Infinity,
// exponents, empty text).
std::string canonical_decimal(std::string_view text);

// §1.2: microseconds since 1970-01-01 UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ. Throws
// Error(VALIDATION_ERROR) outside years 0001-9999.
std::string utc_timestamp(std::int64_t unix_micros);

// True for the §1.2 shape YYYY-MM-DDTHH:MM:SS.ffffffZ.
bool is_timestamp(std::string_view text);

// True for the 36-character lowercase UUID form (§1.3).
bool is_lowercase_uuid(std::string_view text);

// 32 raw bytes from 64 lowercase hex digits (the format's only form of a hash); std::nullopt
// for anything else.
std::optional<std::string> hash_from_hex(std::string_view hex);

// What is wrong with a chain at the first entry that breaks it (§2), or with a checkpoint.
enum class Problem { None, Gap, LinkMismatch, HashMismatch, CheckpointMismatch, Malformed };

// The words ledger_verify and pgfolio-verify report: "gap", "link mismatch", ...
const char* problem_name(Problem problem);

// Walks one portfolio's chain in seq order (§2). Feed every entry to check(); the first
// problem sticks and later entries are not checked.
class ChainChecker {
 public:
  // seq and prev_hash as stored, stored_hash the entry's stored hash, computed_hash SHA-256
  // of its canonical bytes (empty when the entry could not be serialised: Malformed).
  Problem check(std::uint64_t seq, std::string_view prev_hash, std::string_view stored_hash,
                std::string_view computed_hash);

  // Entries accepted so far, i.e. the length of the verified prefix.
  std::uint64_t verified() const { return verified_; }
  // The hash of the last verified entry (empty before the first).
  const std::string& head_hash() const { return head_hash_; }

 private:
  std::uint64_t verified_ = 0;
  std::string head_hash_;
};

}  // namespace pgfolio::ledger
