#include "ledger_entry.hpp"

#include <algorithm>
#include <array>

#include "canonical_json.hpp"
#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::VALIDATION_ERROR, "ledger entry field " + field + " " + why,
              json{{"field", field}}.dump());
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

// YYYY-MM-DDTHH:MM:SS.ffffffZ by shape; the values were produced by utc_timestamp, and a
// verifier only needs the same bytes, not a calendar.
bool is_timestamp(std::string_view text) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (kShape[i] == 'd' ? !is_digit(text[i]) : text[i] != kShape[i]) return false;
  }
  return true;
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

json optional_text(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
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

// The JSON member of an export line, required to exist and be of the given kind.
const json& member(const json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end()) malformed(name, "is missing");
  return *found;
}

std::string required_text(const json& object, const char* name) {
  const json& value = member(object, name);
  if (!value.is_string()) malformed(name, "must be a string");
  return value.get<std::string>();
}

std::optional<std::string> nullable_text(const json& object, const char* name) {
  const json& value = member(object, name);
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) malformed(name, "must be a string or null");
  return value.get<std::string>();
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
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    const int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes[i] = static_cast<char>(high << 4 | low);
  }
  return bytes;
}

json entry_object(const Entry& entry) {
  if (!is_lowercase_uuid(entry.portfolio_id)) malformed("portfolioId", "is not a lowercase UUID");
  if (entry.seq < 1 || entry.seq > kMaxExactInteger) malformed("seq", "must be 1 to 2^53 - 1");
  if (!is_entry_type(entry.entry_type)) malformed("entryType", "must match ^[A-Z][A-Z0-9_]{0,63}$");
  require_decimal(entry.quantity, "quantity");
  require_decimal(entry.amount, "amount");
  if (entry.boundary && !is_boundary(*entry.boundary))
    malformed("boundary", "must be SAFE, DRIFT, STRUCTURAL or STRESS");
  require_uuid(entry.loan_id, "loanId");
  require_uuid(entry.protection_id, "protectionId");
  if (!entry.metadata.is_object()) malformed("metadata", "must be a JSON object");
  require_exact_numbers(entry.metadata, "metadata");
  for (const auto& [value, field] : {std::pair{&entry.snapshot_before, "snapshotBefore"},
                                     std::pair{&entry.snapshot_after, "snapshotAfter"}}) {
    if (!value->is_null() && !value->is_object()) malformed(field, "must be a JSON object or null");
    require_exact_numbers(*value, field);
  }
  if (!is_timestamp(entry.created_at))
    malformed("createdAt", "must be YYYY-MM-DDTHH:MM:SS.ffffffZ");
  if (entry.prev_hash.size() != 32) malformed("prevHash", "must be 32 bytes");
  return json{{"amount", optional_text(entry.amount)},
              {"assetId", optional_text(entry.asset_id)},
              {"boundary", optional_text(entry.boundary)},
              {"createdAt", entry.created_at},
              {"entryType", entry.entry_type},
              {"format", kEntryFormat},
              {"loanId", optional_text(entry.loan_id)},
              {"message", optional_text(entry.message)},
              {"metadata", entry.metadata},
              {"portfolioId", entry.portfolio_id},
              {"prevHash", hex_encode(entry.prev_hash)},
              {"protectionId", optional_text(entry.protection_id)},
              {"quantity", optional_text(entry.quantity)},
              {"seq", entry.seq},
              {"snapshotAfter", entry.snapshot_after},
              {"snapshotBefore", entry.snapshot_before}};
}

std::string canonical_bytes(const Entry& entry) {
  return canonical_json(entry_object(entry));
}

std::string entry_hash(const Entry& entry) {
  return sha256(canonical_bytes(entry));
}

std::string canonical_bytes_of_object(const json& object) {
  if (!object.is_object()) malformed("(entry)", "must be a JSON object");
  for (const auto& item : object.items()) {
    if (std::find(kMembers.begin(), kMembers.end(), item.key()) == kMembers.end())
      malformed(item.key(), "is not a member of the entry format");
  }
  if (required_text(object, "format") != kEntryFormat)
    malformed("format", std::string("must be ") + kEntryFormat);
  Entry entry;
  entry.portfolio_id = required_text(object, "portfolioId");
  const json& seq = member(object, "seq");
  if (!seq.is_number_unsigned() && !seq.is_number_integer()) malformed("seq", "must be an integer");
  entry.seq = seq.is_number_unsigned() ? seq.get<std::uint64_t>() : 0;
  entry.entry_type = required_text(object, "entryType");
  entry.asset_id = nullable_text(object, "assetId");
  entry.quantity = nullable_text(object, "quantity");
  entry.amount = nullable_text(object, "amount");
  entry.boundary = nullable_text(object, "boundary");
  entry.loan_id = nullable_text(object, "loanId");
  entry.protection_id = nullable_text(object, "protectionId");
  entry.message = nullable_text(object, "message");
  entry.metadata = member(object, "metadata");
  entry.snapshot_before = member(object, "snapshotBefore");
  entry.snapshot_after = member(object, "snapshotAfter");
  entry.created_at = required_text(object, "createdAt");
  const std::string prev_hash = required_text(object, "prevHash");
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
