#include "merkle.hpp"

#include <algorithm>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::merkle {
namespace {

// Hashes taken from the caller or a proof are checked for size before use: SHA-256 of a wrong
// sized input is a fine hash, so nothing downstream would notice.
bool is_hash(std::string_view bytes) {
  return bytes.size() == kHashSize;
}

void require_leaf_hashes(const std::vector<std::string>& leaf_hashes) {
  for (const std::string& hash : leaf_hashes) {
    if (!is_hash(hash)) {
      throw Error(ErrorCode::VALIDATION_ERROR, "a Merkle leaf hash must be 32 bytes");
    }
  }
}

// The largest power of two strictly smaller than n (n >= 2): where RFC 6962 splits a tree.
std::uint64_t split_point(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k < n - k) k <<= 1;
  return k;
}

// MTH of the n leaf hashes starting at `first`. Recursion depth is the tree height (at most 64).
std::string subtree_hash(const std::string* first, std::uint64_t n) {
  if (n == 0) return sha256("");
  if (n == 1) return *first;
  const std::uint64_t k = split_point(n);
  return node_hash(subtree_hash(first, k), subtree_hash(first + k, n - k));
}

}  // namespace

std::string leaf_hash(std::string_view data) {
  std::string input;
  input.reserve(1 + data.size());
  input.push_back('\x00');
  input.append(data);
  return sha256(input);
}

std::string node_hash(std::string_view left, std::string_view right) {
  std::string input;
  input.reserve(1 + left.size() + right.size());
  input.push_back('\x01');
  input.append(left);
  input.append(right);
  return sha256(input);
}

std::string root(const std::vector<std::string>& leaves) {
  std::vector<std::string> hashes;
  hashes.reserve(leaves.size());
  for (const std::string& leaf : leaves) hashes.push_back(leaf_hash(leaf));
  return root_from_leaf_hashes(hashes);
}

std::string root_from_leaf_hashes(const std::vector<std::string>& leaf_hashes) {
  require_leaf_hashes(leaf_hashes);
  return subtree_hash(leaf_hashes.data(), leaf_hashes.size());
}

std::vector<std::string> inclusion_proof(const std::vector<std::string>& leaf_hashes,
                                         std::uint64_t index) {
  require_leaf_hashes(leaf_hashes);
  if (index >= leaf_hashes.size()) {
    throw Error(ErrorCode::VALIDATION_ERROR, "the leaf index must be below the tree size");
  }
  // PATH(m, D[n]) walked from the root down: each step keeps the half holding leaf m and
  // records the other half's hash. RFC 6962 lists the path leaf-first, hence the reversal.
  std::vector<std::string> proof;
  const std::string* first = leaf_hashes.data();
  std::uint64_t n = leaf_hashes.size();
  std::uint64_t m = index;
  while (n > 1) {
    const std::uint64_t k = split_point(n);
    if (m < k) {
      proof.push_back(subtree_hash(first + k, n - k));
      n = k;
    } else {
      proof.push_back(subtree_hash(first, k));
      first += k;
      m -= k;
      n -= k;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

std::vector<std::string> consistency_proof(const std::vector<std::string>& leaf_hashes,
                                           std::uint64_t old_size) {
  require_leaf_hashes(leaf_hashes);
  const std::uint64_t new_size = leaf_hashes.size();
  if (old_size > new_size) {
    throw Error(ErrorCode::VALIDATION_ERROR, "the old tree size must not exceed the new one");
  }
  std::vector<std::string> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  // SUBPROOF(m, D[n], true) walked from the root down, as in inclusion_proof. `whole` is the
  // flag b: true while the old tree is still a prefix whose root the verifier already holds.
  const std::string* first = leaf_hashes.data();
  std::uint64_t n = new_size;
  std::uint64_t m = old_size;
  bool whole = true;
  while (m != n) {
    const std::uint64_t k = split_point(n);
    if (m <= k) {
      proof.push_back(subtree_hash(first + k, n - k));
      n = k;
    } else {
      proof.push_back(subtree_hash(first, k));
      first += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) proof.push_back(subtree_hash(first, n));
  std::reverse(proof.begin(), proof.end());
  return proof;
}

bool verify_inclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                      const std::vector<std::string>& proof, std::string_view root) {
  if (index >= tree_size || !is_hash(leaf_hash) || !is_hash(root)) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (!is_hash(p) || sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // sn == 0: the path reached the root, so no element was missing.
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                        std::string_view new_root, const std::vector<std::string>& proof) {
  if (old_size > new_size || !is_hash(old_root) || !is_hash(new_root)) return false;
  const std::string empty_root = sha256("");
  if (old_size == new_size) {
    return proof.empty() && old_root == new_root && (old_size != 0 || old_root == empty_root);
  }
  if (old_size == 0) return proof.empty() && old_root == empty_root;
  if (proof.empty()) return false;
  for (const std::string& c : proof) {
    if (!is_hash(c)) return false;
  }

  // RFC 9162 §2.1.4.2. When the old tree is a complete subtree (its size a power of two), the
  // proof leaves out its root, which the verifier holds: it starts the path.
  const bool old_is_complete = (old_size & (old_size - 1)) == 0;
  std::size_t next = 0;
  std::string fr(old_is_complete ? old_root : std::string_view(proof[next++]));
  std::string sr = fr;
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  for (; next < proof.size(); ++next) {
    const std::string& c = proof[next];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

void Frontier::append(std::string_view leaf_hash_value) {
  if (!is_hash(leaf_hash_value)) {
    throw Error(ErrorCode::VALIDATION_ERROR, "a Merkle leaf hash must be 32 bytes");
  }
  subtrees_.emplace_back(leaf_hash_value);
  // Each trailing 1 bit of the old size is a perfect subtree of the same height as the one
  // just completed: merge them, as binary addition carries.
  for (std::uint64_t n = size_; n & 1; n >>= 1) {
    std::string right = std::move(subtrees_.back());
    subtrees_.pop_back();
    subtrees_.back() = node_hash(subtrees_.back(), right);
  }
  ++size_;
}

std::string Frontier::root() const {
  if (subtrees_.empty()) return sha256("");
  // RFC 6962 splits at the largest power of two, so the tree is the perfect subtrees joined
  // from the right: node(s0, node(s1, ... node(s[k-2], s[k-1]))).
  std::string hash = subtrees_.back();
  for (std::size_t i = subtrees_.size() - 1; i-- > 0;) hash = node_hash(subtrees_[i], hash);
  return hash;
}

}  // namespace pgfolio::merkle
