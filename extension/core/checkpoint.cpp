#include "checkpoint.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "canonical_json.hpp"
#include "digest.hpp"
#include "error.hpp"
#include "json_members.hpp"
#include "ledger_entry.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

constexpr MemberReader kMembersOf{"checkpoint member"};

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
  kMembersOf.refuse(field, why);
}

// `bytes` raw bytes (a multiple of 32) from exactly twice as many lowercase hex digits; the
// format writes hex in lowercase only, so that every value has one text form.
std::optional<std::string> lowercase_hex(std::string_view hex, std::size_t bytes) {
  if (hex.size() != 2 * bytes || bytes % 32 != 0) return std::nullopt;
  std::string raw;
  for (std::size_t i = 0; i < hex.size(); i += 64) {
    const std::optional<std::string> part = hash_from_hex(hex.substr(i, 64));
    if (!part) return std::nullopt;
    raw += *part;
  }
  return raw;
}

void require_signed_fields(const Checkpoint& c) {
  if (!is_lowercase_uuid(c.portfolio_id)) malformed("portfolioId", "is not a lowercase UUID");
  if (c.tree_size > kMaxExactInteger) malformed("treeSize", "must be 0 to 2^53 - 1");
  if (c.root_hash.size() != 32) malformed("rootHash", "must be 32 bytes");
  if (!is_timestamp(c.signed_at)) malformed("signedAt", "must be YYYY-MM-DDTHH:MM:SS.ffffffZ");
}

json signed_object(const Checkpoint& c) {
  require_signed_fields(c);
  return json{{"format", kCheckpointFormat},
              {"portfolioId", c.portfolio_id},
              {"rootHash", hex_encode(c.root_hash)},
              {"signedAt", c.signed_at},
              {"treeSize", c.tree_size}};
}

std::string required_hex(const json& object, const char* name, std::size_t bytes) {
  std::optional<std::string> raw = lowercase_hex(kMembersOf.text(object, name), bytes);
  if (!raw) malformed(name, "must be " + std::to_string(2 * bytes) + " lowercase hex digits");
  return *raw;
}

constexpr std::array<const char*, 7> kMembers = {"format",    "keyId",    "portfolioId", "rootHash",
                                                 "signature", "signedAt", "treeSize"};

}  // namespace

std::string signed_bytes(const Checkpoint& checkpoint) {
  return canonical_json(signed_object(checkpoint));
}

json to_json(const Checkpoint& checkpoint) {
  json object = signed_object(checkpoint);
  if (!lowercase_hex(checkpoint.key_id, 32)) malformed("keyId", "must be 64 lowercase hex digits");
  if (checkpoint.signature.size() != ed25519::kSignatureSize)
    malformed("signature", "must be 64 bytes");
  object["keyId"] = checkpoint.key_id;
  object["signature"] = hex_encode(checkpoint.signature);
  return object;
}

Checkpoint from_json(const json& object) {
  kMembersOf.require_only(object, kMembers.data(), kMembers.size(), "checkpoint");
  if (kMembersOf.text(object, "format") != kCheckpointFormat)
    malformed("format", std::string("must be ") + kCheckpointFormat);
  Checkpoint c;
  c.portfolio_id = kMembersOf.text(object, "portfolioId");
  auto tree_size = object.find("treeSize");
  if (tree_size == object.end()) malformed("treeSize", "is missing");
  // Parsed text holds a non-negative integer as unsigned, a value built in C++ (from a bigint
  // column, say) may hold it signed: both are fine when not negative. Fractions and exponents
  // (number_float) are refused.
  if (!tree_size->is_number_integer() ||
      (!tree_size->is_number_unsigned() && tree_size->get<std::int64_t>() < 0))
    malformed("treeSize", "must be an integer 0 to 2^53 - 1");
  c.tree_size = tree_size->get<std::uint64_t>();
  c.root_hash = required_hex(object, "rootHash", 32);
  c.signed_at = kMembersOf.text(object, "signedAt");
  c.key_id = kMembersOf.text(object, "keyId");
  if (!lowercase_hex(c.key_id, 32)) malformed("keyId", "must be 64 lowercase hex digits");
  c.signature = required_hex(object, "signature", ed25519::kSignatureSize);
  require_signed_fields(c);
  return c;
}

Checkpoint parse_checkpoint(std::string_view json_text) {
  // Strictly (duplicate member names refused), and the members are read as written, so that
  // e.g. a treeSize written 1e3 is refused rather than canonicalised to 1000.
  json value;
  try {
    value = parse_json_strict(json_text);
  } catch (const Error& e) {
    malformed("(checkpoint)", std::string("is not valid JSON: ") + e.what());
  }
  return from_json(value);
}

Checkpoint sign_checkpoint(std::string_view portfolio_id, std::uint64_t tree_size,
                           std::string_view root_hash, std::string_view signed_at,
                           const ed25519::PrivateKey& key) {
  Checkpoint c;
  c.portfolio_id = portfolio_id;
  c.tree_size = tree_size;
  c.root_hash = root_hash;
  c.signed_at = signed_at;
  c.key_id = key.public_key().key_id();
  c.signature = key.sign(signed_bytes(c));
  return c;
}

bool verify_checkpoint_signature(const Checkpoint& checkpoint, const ed25519::PublicKey& key) {
  if (checkpoint.key_id != key.key_id()) return false;
  std::string message;
  try {
    message = signed_bytes(checkpoint);
  } catch (const Error&) {
    return false;
  }
  return key.verify(message, checkpoint.signature);
}

}  // namespace pgfolio::ledger
