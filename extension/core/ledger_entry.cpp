#include "ledger_entry.hpp"

#include <algorithm>
#include <array>

#include "canonical_json.hpp"
#include "digest.hpp"
#include "error.hpp"
#include "json_members.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

constexpr MemberReader kFields{"ledger entry field"};

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
  kFields.refuse(field, why);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_entry_type(std::string_view text) {
  if (text.empty() || text.size() > 64 || !(text[0] >= 'A' && text[0] <= 'Z')) return false;
  for (char c : text) {
    if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_')) return false;
  }
  return true;
}

bool is_boundary(std::string_view text) {
  return text == "SAFE" || text == "DRIFT" || text == "STRUCTURAL" || text == "STRESS";
}

// §1.4: the only numbers allowed are integers that JCS writes exactly.
void require_exact_numbers(const json& value, const std::string& field) {
  switch (value.type()) {
    case json::value_t::object:
    case json::value_t::array:
      for (const json& item : value) require_exact_numbers(item, field);
      break;
    case json::value_t::number_integer: {
      const std::int64_t n = value.get<std::int64_t>();
      const std::uint64_t magnitude =
          n < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
      if (magnitude > kMaxExactInteger + 1)
        malformed(field, "holds an integer beyond 2^53; write it as a decimal string");
      break;
    }
    case json::value_t::number_unsigned:
      if (value.get<std::uint64_t>() > kMaxExactInteger + 1)
        malformed(field, "holds an integer beyond 2^53; write it as a decimal string");
      break;
    case json::value_t::number_float:
      malformed(field, "holds a non-integer number; write it as a decimal string");
    default:
      break;
  }
}

void require_decimal(const std::optional<std::string>& value, const std::string& field) {
  if (value && canonical_decimal(*value) != *value) malformed(field, "is not a canonical decimal");
}

void require_uuid(const std::optional<std::string>& value, const std::string& field) {
  if (value && !is_lowercase_uuid(*value)) malformed(field, "is not a lowercase UUID");
}

// Days since 1970-01-01 to a proleptic Gregorian date: Howard Hinnant's civil_from_days
// ("chrono-Compatible Low-Level Date Algorithms"), exact for every day we accept.
void civil_from_days(std::int64_t days, int& year, unsigned& month, unsigned& day) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;
  day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  year = static_cast<int>(year_of_era + era * 400 + (month <= 2));
}

void append_digits(std::string& out, std::int64_t value, int width) {
  std::array<char, 8> digits{};
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits.data(), width);
}

// A JSON member of an export line (metadata, a snapshot) in canonical form: an object, or null
// where allowed.
std::optional<std::string> json_member(const json& object, const char* name, bool nullable) {
  const json& value = kFields.member(object, name);
  if (nullable && value.is_null()) return std::nullopt;
  if (!value.is_object())
    malformed(name, nullable ? "must be a JSON object or null" : "must be a JSON object");
  return canonical_ledger_json(value, name);
}

constexpr std::array<const char*, 16> kMembers = {
    "amount",   "assetId", "boundary",      "createdAt",     "entryType", "format",
    "loanId",   "message", "metadata",      "portfolioId",   "prevHash",  "protectionId",
    "quantity", "seq",     "snapshotAfter", "snapshotBefore"};

}  // namespace

std::string canonical_decimal(std::string_view text) {
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  const std::size_t integer_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  std::string_view integer = text.substr(integer_start, i - integer_start);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const std::size_t fraction_start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(fraction_start, i - fraction_start);
    if (fraction.empty()) i = text.size() + 1;  // "1." is not a decimal
  }
  if (integer.empty() || i != text.size()) {
    throw Error(ErrorCode::VALIDATION_ERROR,
                "not a plain decimal: " + std::string(text.substr(0, 40)));
  }
  integer.remove_prefix(std::min(integer.find_first_not_of('0'), integer.size()));
  fraction = fraction.substr(0, fraction.find_last_not_of('0') + 1);
  if (fraction.find_first_not_of('0') == std::string_view::npos) fraction = {};
  std::string out;
  if (negative && !(integer.empty() && fraction.empty())) out.push_back('-');
  out += integer.empty() ? std::string_view("0") : integer;
  if (!fraction.empty()) {
    out.push_back('.');
    out += fraction;
  }
  return out;
}

std::string utc_timestamp(std::int64_t unix_micros) {
  constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
  std::int64_t days = unix_micros / kMicrosPerDay;
  std::int64_t micros_of_day = unix_micros % kMicrosPerDay;
  if (micros_of_day < 0) {
    micros_of_day += kMicrosPerDay;
    --days;
  }
  int year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  if (year < 1 || year > 9999) {
    throw Error(ErrorCode::VALIDATION_ERROR, "a ledger timestamp must fall in years 0001-9999");
  }
  const std::int64_t seconds = micros_of_day / 1'000'000;
  std::string out;
  out.reserve(27);
  append_digits(out, year, 4);
  out.push_back('-');
  append_digits(out, month, 2);
  out.push_back('-');
  append_digits(out, day, 2);
  out.push_back('T');
  append_digits(out, seconds / 3600, 2);
  out.push_back(':');
  append_digits(out, seconds / 60 % 60, 2);
  out.push_back(':');
  append_digits(out, seconds % 60, 2);
  out.push_back('.');
  append_digits(out, micros_of_day % 1'000'000, 6);
  out.push_back('Z');
  return out;
}

// By shape only: the values were produced by utc_timestamp, and a verifier needs the same
// bytes, not a calendar.
bool is_timestamp(std::string_view text) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (kShape[i] == 'd' ? !is_digit(text[i]) : text[i] != kShape[i]) return false;
  }
  return true;
}

bool is_lowercase_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? c != '-' : !(is_digit(c) || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<std::string> hash_from_hex(std::string_view hex) {
  if (hex.size() != 64 || hex.find_first_of("ABCDEF") != std::string_view::npos)
    return std::nullopt;
  return hex_decode(hex);
}

namespace {

// A canonical JSON object as §1.4 requires it: checked by shape only, since the callers build
// it with canonical_ledger_json (or the database's jsonb walker, which applies the same rules).
void require_json_object(const std::string& text, const char* field) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    malformed(field, "must be a JSON object");
}

void write_member(std::string& out, const char* name) {
  if (out.size() > 1) out.push_back(',');
  out.push_back('"');
  out += name;
  out += "\":";
}

void write_text(std::string& out, const char* name, const std::optional<std::string>& value) {
  write_member(out, name);
  if (value) {
    append_canonical_string(out, *value);
  } else {
    out += "null";
  }
}

void write_json(std::string& out, const char* name, const std::optional<std::string>& value) {
  write_member(out, name);
  out += value ? *value : std::string("null");
}

// The entry object in JCS form, written member by member in the order of §1's table (the
// names are ASCII, so UTF-16 order is byte order), with entryHash between createdAt and
// entryType when given.
void write_entry(const Entry& entry, const std::string* entry_hash_hex, std::string& out) {
  if (!is_lowercase_uuid(entry.portfolio_id)) malformed("portfolioId", "is not a lowercase UUID");
  if (entry.seq < 1 || entry.seq > kMaxExactInteger) malformed("seq", "must be 1 to 2^53 - 1");
  if (!is_entry_type(entry.entry_type)) malformed("entryType", "must match ^[A-Z][A-Z0-9_]{0,63}$");
  require_decimal(entry.quantity, "quantity");
  require_decimal(entry.amount, "amount");
  if (entry.boundary && !is_boundary(*entry.boundary))
    malformed("boundary", "must be SAFE, DRIFT, STRUCTURAL or STRESS");
  require_uuid(entry.loan_id, "loanId");
  require_uuid(entry.protection_id, "protectionId");
  require_json_object(entry.metadata, "metadata");
  if (entry.snapshot_before) require_json_object(*entry.snapshot_before, "snapshotBefore");
  if (entry.snapshot_after) require_json_object(*entry.snapshot_after, "snapshotAfter");
  if (!is_timestamp(entry.created_at))
    malformed("createdAt", "must be YYYY-MM-DDTHH:MM:SS.ffffffZ");
  if (entry.prev_hash.size() != 32) malformed("prevHash", "must be 32 bytes");

  out.clear();
  out.reserve(512 + entry.metadata.size() +
              (entry.snapshot_before ? entry.snapshot_before->size() : 0) +
              (entry.snapshot_after ? entry.snapshot_after->size() : 0));
  out.push_back('{');
  write_text(out, "amount", entry.amount);
  write_text(out, "assetId", entry.asset_id);
  write_text(out, "boundary", entry.boundary);
  write_text(out, "createdAt", entry.created_at);
  if (entry_hash_hex) write_text(out, "entryHash", *entry_hash_hex);
  write_text(out, "entryType", entry.entry_type);
  write_text(out, "format", std::string(kEntryFormat));
  write_text(out, "loanId", entry.loan_id);
  write_text(out, "message", entry.message);
  write_json(out, "metadata", entry.metadata);
  write_text(out, "portfolioId", entry.portfolio_id);
  write_text(out, "prevHash", hex_encode(entry.prev_hash));
  write_text(out, "protectionId", entry.protection_id);
  write_text(out, "quantity", entry.quantity);
  write_member(out, "seq");
  out += std::to_string(entry.seq);
  write_json(out, "snapshotAfter", entry.snapshot_after);
  write_json(out, "snapshotBefore", entry.snapshot_before);
  out.push_back('}');
}

}  // namespace

std::string canonical_ledger_json(const json& value, const std::string& field) {
  require_exact_numbers(value, field);
  return canonical_json(value);
}

std::string canonical_bytes(const Entry& entry) {
  std::string out;
  write_entry(entry, nullptr, out);
  return out;
}

std::string export_line(const Entry& entry, std::string_view entry_hash) {
  if (entry_hash.size() != 32) malformed("entryHash", "must be 32 bytes");
  const std::string hex = hex_encode(entry_hash);
  std::string out;
  write_entry(entry, &hex, out);
  return out;
}

std::string entry_hash(const Entry& entry) {
  // One buffer per thread, reused: a verifier hashes millions of entries of ~1.3 KB.
  thread_local std::string bytes;
  write_entry(entry, nullptr, bytes);
  return sha256(bytes);
}

std::string canonical_bytes_of_object(const json& object) {
  kFields.require_only(object, kMembers.data(), kMembers.size(), "entry");
  if (kFields.text(object, "format") != kEntryFormat)
    malformed("format", std::string("must be ") + kEntryFormat);
  Entry entry;
  entry.portfolio_id = kFields.text(object, "portfolioId");
  const json& seq = kFields.member(object, "seq");
  if (!seq.is_number_unsigned() && !seq.is_number_integer()) malformed("seq", "must be an integer");
  entry.seq = seq.is_number_unsigned() ? seq.get<std::uint64_t>() : 0;
  entry.entry_type = kFields.text(object, "entryType");
  entry.asset_id = kFields.nullable_text(object, "assetId");
  entry.quantity = kFields.nullable_text(object, "quantity");
  entry.amount = kFields.nullable_text(object, "amount");
  entry.boundary = kFields.nullable_text(object, "boundary");
  entry.loan_id = kFields.nullable_text(object, "loanId");
  entry.protection_id = kFields.nullable_text(object, "protectionId");
  entry.message = kFields.nullable_text(object, "message");
  entry.metadata = json_member(object, "metadata", false).value_or("");
  entry.snapshot_before = json_member(object, "snapshotBefore", true);
  entry.snapshot_after = json_member(object, "snapshotAfter", true);
  entry.created_at = kFields.text(object, "createdAt");
  const std::string prev_hash = kFields.text(object, "prevHash");
  std::optional<std::string> prev = hash_from_hex(prev_hash);
  if (!prev || hex_encode(*prev) != prev_hash)
    malformed("prevHash", "must be 64 lowercase hex digits");
  entry.prev_hash = *prev;
  return canonical_bytes(entry);
}

const char* problem_name(Problem problem) {
  switch (problem) {
    case Problem::None:
      return "ok";
    case Problem::Gap:
      return "gap";
    case Problem::LinkMismatch:
      return "link mismatch";
    case Problem::HashMismatch:
      return "hash mismatch";
    case Problem::CheckpointMismatch:
      return "checkpoint mismatch";
    case Problem::Malformed:
      return "malformed entry";
  }
  return "unknown";
}

Problem ChainChecker::check(std::uint64_t seq, std::string_view prev_hash,
                            std::string_view stored_hash, std::string_view computed_hash) {
  if (seq != verified_ + 1) return Problem::Gap;
  static const std::string kGenesis(32, '\0');
  if (prev_hash != (verified_ == 0 ? std::string_view(kGenesis) : std::string_view(head_hash_)))
    return Problem::LinkMismatch;
  if (computed_hash.empty()) return Problem::Malformed;
  if (!constant_time_equal(computed_hash, stored_hash)) return Problem::HashMismatch;
  ++verified_;
  head_hash_.assign(stored_hash);
  return Problem::None;
}

}  // namespace pgfolio::ledger
