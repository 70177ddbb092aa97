// Signed Merkle checkpoints (docs/ledger-format.md §3.2): "the tree of portfolio P had size n
// and root r at time t", signed by the witness with Ed25519. The witness in pgfolio-http signs
// them; pgfolio-verify and anyone else check them against the published public key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "signature.hpp"

namespace pgfolio::ledger {

// Written into every signed checkpoint, so that a later format can never be mistaken for this
// one.
inline constexpr const char* kCheckpointFormat = "pgfolio-checkpoint/1";

struct Checkpoint {
  std::string portfolio_id;  // lowercase UUID (§1.3)
  std::uint64_t tree_size = 0;
  std::string root_hash;  // 32 raw bytes: the MTH of the first tree_size entry hashes
  std::string signed_at;  // a §1.2 timestamp
  std::string key_id;     // 64 lowercase hex digits: SHA-256 of the signer's raw public key
  std::string signature;  // 64 raw bytes
};

// The bytes the signature covers: the JCS of the five-member object of §3.2 (format,
// portfolioId, rootHash, signedAt, treeSize). key_id and signature are not part of it.
// Throws Error(VALIDATION_ERROR) naming the field when one of those five breaks the format.
std::string signed_bytes(const Checkpoint& checkpoint);

// The seven-member JSON object of §3.2, hashes and signature in lowercase hex: the form of the
// witness's file, of GET /api/v1/ledger/checkpoints/latest and of pgfolio-verify's input.
// Throws Error(VALIDATION_ERROR) naming the field when one breaks the format.
nlohmann::json to_json(const Checkpoint& checkpoint);

// The inverse of to_json, strictly: exactly those seven members, each of its type, hex in
// lowercase, the UUID in lowercase, treeSize an integer 0 to 2^53 - 1. Throws
// Error(VALIDATION_ERROR) naming the field otherwise. The signature is not checked here.
Checkpoint from_json(const nlohmann::json& object);

// from_json of one JSON text (a file's content or one line of it). Also refuses what is not
// I-JSON (duplicate member names, invalid UTF-8) or not a single JSON value.
Checkpoint parse_checkpoint(std::string_view json_text);

// A checkpoint of (portfolio_id, tree_size, root_hash, signed_at), signed with `key`; its
// key_id is the key's. Throws Error(VALIDATION_ERROR) when an argument breaks the format.
Checkpoint sign_checkpoint(std::string_view portfolio_id, std::uint64_t tree_size,
                           std::string_view root_hash, std::string_view signed_at,
                           const ed25519::PrivateKey& key);

// True when key_id names `key` and the signature over signed_bytes verifies with it. False,
// never an exception, otherwise (a field breaking the format included).
bool verify_checkpoint_signature(const Checkpoint& checkpoint, const ed25519::PublicKey& key);

}  // namespace pgfolio::ledger
