// RFC 6962 Merkle trees over SHA-256: the checkpoints of the ledger (issue 4) commit to a
// portfolio's entry hashes with the Merkle Tree Hash, and clients check an entry's inclusion
// in, and a log's append-only growth between, two checkpoints with audit paths.
//
// Byte strings are std::string holding raw bytes. Hashes are 32 bytes. The tree hashing is
// RFC 6962 §2.1: leaves and interior nodes get different one-byte prefixes so that no leaf can
// be passed off as an interior node (second-preimage resistance), and a tree of n > 1 leaves is
// split at the largest power of two smaller than n. Proofs are RFC 6962 §2.1.1 (PATH) and
// §2.1.2 (PROOF/SUBPROOF); their verification follows RFC 9162 §2.1.3.2 and §2.1.4.2, which
// are iterative (no recursion on attacker-chosen sizes) and reject a proof with elements
// missing or to spare.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgfolio::merkle {

// Size in bytes of every hash here (SHA-256).
inline constexpr std::size_t kHashSize = 32;

// SHA-256(0x00 ‖ data): the hash of one leaf input.
std::string leaf_hash(std::string_view data);

// SHA-256(0x01 ‖ left ‖ right): the hash of an interior node.
std::string node_hash(std::string_view left, std::string_view right);

// MTH over raw leaf inputs (RFC 6962 §2.1). The empty tree's hash is SHA-256 of nothing.
std::string root(const std::vector<std::string>& leaves);

// MTH for callers that already hold the leaf hashes (leaf_hash of each input), e.g. the
// ledger, whose leaves are the entries' hashes. Throws Error(VALIDATION_ERROR) if any is not
// 32 bytes: a short or long "hash" would silently yield a tree nobody else can rebuild.
std::string root_from_leaf_hashes(const std::vector<std::string>& leaf_hashes);

// The audit path of leaf `index` in the tree of all `leaf_hashes` (RFC 6962 §2.1.1), nearest
// sibling first. Throws Error(VALIDATION_ERROR) if index >= the number of leaves or a leaf
// hash is not 32 bytes.
std::vector<std::string> inclusion_proof(const std::vector<std::string>& leaf_hashes,
                                         std::uint64_t index);

// The consistency proof between the tree of the first `old_size` leaf hashes and the tree of
// all of them (RFC 6962 §2.1.2). Empty when old_size is 0 or equals the number of leaves (no
// proof is needed: every tree extends the empty one, and a tree extends itself). Throws
// Error(VALIDATION_ERROR) if old_size exceeds the number of leaves or a leaf hash is not 32
// bytes.
std::vector<std::string> consistency_proof(const std::vector<std::string>& leaf_hashes,
                                           std::uint64_t old_size);

// True when `proof` proves that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves
// whose root is `root` (RFC 9162 §2.1.3.2). False, never an exception, for anything else:
// index >= tree_size, a hash or proof element that is not 32 bytes, a proof too short or too
// long for (index, tree_size), or any hash mismatch.
bool verify_inclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                      const std::vector<std::string>& proof, std::string_view root);

// True when `proof` proves that the tree of `new_size` leaves with root `new_root` extends the
// tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2). The cases RFC 9162 leaves
// to the caller: old_size == new_size holds only with an empty proof and equal roots;
// old_size == 0 holds only with an empty proof and old_root the empty tree's hash (the one
// root a tree of no leaves can have). False for old_size > new_size, hashes or elements not
// 32 bytes, missing or extra elements, and any mismatch.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                        std::string_view new_root, const std::vector<std::string>& proof);

// The MTH of a growing list of leaves, kept as the roots of its perfect subtrees (at most 64):
// appending is amortised O(1) and root() O(log n), so a verifier walking a long log in order
// can compare the root at every checkpoint size on the way without keeping the leaves.
class Frontier {
 public:
  // Appends one leaf by its leaf hash (leaf_hash of the input); throws Error(VALIDATION_ERROR)
  // if it is not 32 bytes.
  void append(std::string_view leaf_hash_value);
  std::uint64_t size() const { return size_; }
  // MTH of the leaves appended so far (of nothing: SHA-256 of nothing).
  std::string root() const;

 private:
  std::vector<std::string> subtrees_;  // largest (leftmost) first
  std::uint64_t size_ = 0;
};

}  // namespace pgfolio::merkle
