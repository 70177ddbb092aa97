// RFC 6962 Merkle trees: the Certificate Transparency reference vectors, proofs round-tripped
// for every leaf and size pair up to 64 leaves, and rejection of altered proofs and claims.
#include "merkle.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::merkle {
namespace {

std::string unhex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

std::vector<std::string> unhex_all(const std::vector<std::string>& hexes) {
  std::vector<std::string> out;
  for (const std::string& hex : hexes) out.push_back(unhex(hex));
  return out;
}

const std::string kEmptyRoot = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The reference vectors of certificate-transparency's merkle_tree_test, as carried on by
// github.com/transparency-dev/merkle: leaf inputs and roots from testonly/constants.go
// (LeafInputs, RootHashes), inclusion and consistency paths from proof/verify_test.go
// (inclusionProofs, consistencyProofs; their leaf numbers are 1-based, ours 0-based).
const std::vector<std::string> kLeafInputs =
    unhex_all({"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
               "606162636465666768696a6b6c6d6e6f"});

const std::vector<std::string> kRoots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

struct InclusionVector {
  std::uint64_t index;
  std::uint64_t size;
  std::vector<std::string> proof;
};

const std::vector<InclusionVector> kInclusionVectors = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
  std::uint64_t old_size;
  std::uint64_t new_size;
  std::vector<std::string> proof;
};

const std::vector<ConsistencyVector> kConsistencyVectors = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<std::string> leaf_hashes_of(const std::vector<std::string>& inputs, std::size_t n) {
  std::vector<std::string> hashes;
  for (std::size_t i = 0; i < n; ++i) hashes.push_back(leaf_hash(inputs[i]));
  return hashes;
}

std::vector<std::string> hex_all(const std::vector<std::string>& hashes) {
  std::vector<std::string> out;
  for (const std::string& hash : hashes) out.push_back(hex_encode(hash));
  return out;
}

// 64 distinct leaf inputs for the exhaustive sweeps.
std::vector<std::string> sweep_leaf_hashes() {
  std::vector<std::string> inputs;
  for (int i = 0; i < 64; ++i) inputs.push_back("entry " + std::to_string(i));
  return leaf_hashes_of(inputs, inputs.size());
}

std::vector<std::string> prefix(const std::vector<std::string>& all, std::size_t n) {
  return std::vector<std::string>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
}

// Every proof with one bit flipped: all 256 bits of every element when `every_bit`, else one
// bit per byte (a different bit position in successive bytes), which keeps the 64-leaf sweeps
// to a second or two while still touching every byte of every element.
template <typename Check>
void expect_bit_flips_rejected(const std::vector<std::string>& proof, Check accepts,
                               bool every_bit = true) {
  std::vector<std::string> altered = proof;
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (std::size_t bit = 0; bit < proof[i].size() * 8; ++bit) {
      if (!every_bit && bit % 8 != (bit / 8) % 8) continue;
      const char mask = static_cast<char>(1 << (bit % 8));
      altered[i][bit / 8] ^= mask;
      ASSERT_FALSE(accepts(altered)) << "element " << i << " bit " << bit;
      altered[i][bit / 8] ^= mask;
    }
  }
}

// Small trees are checked with every bit; larger ones with one bit per byte.
constexpr std::uint64_t kEveryBitUpTo = 16;

// Proofs with an element missing, added or swapped for another hash.
template <typename Check>
void expect_misshapen_rejected(const std::vector<std::string>& proof, const std::string& other,
                               Check accepts) {
  std::vector<std::string> longer = proof;
  longer.push_back(other);
  EXPECT_FALSE(accepts(longer)) << "trailing element";
  longer = proof;
  longer.insert(longer.begin(), other);
  EXPECT_FALSE(accepts(longer)) << "leading element";
  if (!proof.empty()) {
    EXPECT_FALSE(accepts(std::vector<std::string>(proof.begin(), proof.end() - 1)))
        << "last element removed";
    EXPECT_FALSE(accepts(std::vector<std::string>(proof.begin() + 1, proof.end())))
        << "first element removed";
    std::vector<std::string> duplicated = proof;
    duplicated.insert(duplicated.begin(), proof.front());
    EXPECT_FALSE(accepts(duplicated)) << "first element repeated";
    std::vector<std::string> short_element = proof;
    short_element.back().pop_back();
    EXPECT_FALSE(accepts(short_element)) << "31-byte element";
  }
}

TEST(Merkle, LeafAndNodeHashesAreDomainSeparated) {
  EXPECT_EQ(hex_encode(leaf_hash("")), kRoots[0]);
  EXPECT_EQ(leaf_hash("abc"), sha256(std::string("\x00"
                                                 "abc",
                                                 4)));
  const std::string l = leaf_hash("a"), r = leaf_hash("b");
  EXPECT_EQ(node_hash(l, r), sha256("\x01" + l + r));
  EXPECT_NE(node_hash(l, r), node_hash(r, l));
  // A leaf whose input is two hashes is not the node over them.
  EXPECT_NE(leaf_hash(l + r), node_hash(l, r));
}

TEST(Merkle, EmptyTreeIsSha256OfNothing) {
  EXPECT_EQ(hex_encode(root({})), kEmptyRoot);
  EXPECT_EQ(hex_encode(root_from_leaf_hashes({})), kEmptyRoot);
}

TEST(Merkle, ReferenceRoots) {
  for (std::size_t n = 1; n <= kLeafInputs.size(); ++n) {
    const std::vector<std::string> inputs(kLeafInputs.begin(),
                                          kLeafInputs.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(hex_encode(root(inputs)), kRoots[n - 1]) << "size " << n;
    EXPECT_EQ(hex_encode(root_from_leaf_hashes(leaf_hashes_of(kLeafInputs, n))), kRoots[n - 1]);
  }
}

TEST(Merkle, RejectsLeafHashesOfTheWrongSize) {
  std::vector<std::string> hashes = leaf_hashes_of(kLeafInputs, 4);
  hashes[2] += "x";
  EXPECT_THROW(root_from_leaf_hashes(hashes), Error);
  EXPECT_THROW(inclusion_proof(hashes, 0), Error);
  EXPECT_THROW(consistency_proof(hashes, 1), Error);
}

TEST(Merkle, ReferenceInclusionProofs) {
  for (const InclusionVector& v : kInclusionVectors) {
    SCOPED_TRACE("index " + std::to_string(v.index) + " size " + std::to_string(v.size));
    const std::vector<std::string> hashes = leaf_hashes_of(kLeafInputs, v.size);
    const std::vector<std::string> proof = inclusion_proof(hashes, v.index);
    EXPECT_EQ(hex_all(proof), v.proof);
    const std::string root_hash = unhex(kRoots[v.size - 1]);
    const std::string& leaf = hashes[v.index];
    EXPECT_TRUE(verify_inclusion(leaf, v.index, v.size, unhex_all(v.proof), root_hash));
    auto accepts = [&](const std::vector<std::string>& p) {
      return verify_inclusion(leaf, v.index, v.size, p, root_hash);
    };
    expect_bit_flips_rejected(proof, accepts);
    expect_misshapen_rejected(proof, root_hash, accepts);
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size, proof, unhex(kEmptyRoot)));
    EXPECT_FALSE(verify_inclusion(leaf_hash("wrong"), v.index, v.size, proof, root_hash));
    EXPECT_FALSE(verify_inclusion(leaf, v.index, v.size * 2, proof, root_hash));
    if (v.index + 1 < v.size) {
      EXPECT_FALSE(verify_inclusion(leaf, v.index + 1, v.size, proof, root_hash));
    }
    if (v.index > 0) {
      EXPECT_FALSE(verify_inclusion(leaf, v.index - 1, v.size, proof, root_hash));
    }
  }
}

TEST(Merkle, ReferenceConsistencyProofs) {
  for (const ConsistencyVector& v : kConsistencyVectors) {
    SCOPED_TRACE("sizes " + std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    const std::vector<std::string> hashes = leaf_hashes_of(kLeafInputs, v.new_size);
    const std::vector<std::string> proof = consistency_proof(hashes, v.old_size);
    EXPECT_EQ(hex_all(proof), v.proof);
    const std::string old_root = unhex(kRoots[v.old_size - 1]);
    const std::string new_root = unhex(kRoots[v.new_size - 1]);
    EXPECT_TRUE(verify_consistency(v.old_size, v.new_size, old_root, new_root, unhex_all(v.proof)));
    if (v.old_size == v.new_size) continue;
    auto accepts = [&](const std::vector<std::string>& p) {
      return verify_consistency(v.old_size, v.new_size, old_root, new_root, p);
    };
    expect_bit_flips_rejected(proof, accepts);
    expect_misshapen_rejected(proof, new_root, accepts);
    EXPECT_FALSE(accepts({}));
    EXPECT_FALSE(verify_consistency(v.old_size, v.new_size, new_root, old_root, proof));
    EXPECT_FALSE(verify_consistency(v.old_size + 1, v.new_size, old_root, new_root, proof));
    EXPECT_FALSE(verify_consistency(v.old_size - 1, v.new_size, old_root, new_root, proof));
    EXPECT_FALSE(verify_consistency(v.old_size, v.new_size * 2, old_root, new_root, proof));
  }
}

TEST(Merkle, InclusionRoundTripsUpTo64Leaves) {
  const std::vector<std::string> all = sweep_leaf_hashes();
  for (std::uint64_t n = 1; n <= all.size(); ++n) {
    const std::vector<std::string> hashes = prefix(all, n);
    const std::string root_hash = root_from_leaf_hashes(hashes);
    for (std::uint64_t index = 0; index < n; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " + std::to_string(n));
      const std::vector<std::string> proof = inclusion_proof(hashes, index);
      const std::string& leaf = hashes[index];
      ASSERT_TRUE(verify_inclusion(leaf, index, n, proof, root_hash));
      auto accepts = [&](const std::vector<std::string>& p) {
        return verify_inclusion(leaf, index, n, p, root_hash);
      };
      expect_bit_flips_rejected(proof, accepts, n <= kEveryBitUpTo);
      expect_misshapen_rejected(proof, root_hash, accepts);
      // Any other position, or a tree of another height, computes a different root.
      for (std::uint64_t other = 0; other < n; ++other) {
        if (other != index) {
          EXPECT_FALSE(verify_inclusion(leaf, other, n, proof, root_hash));
        }
      }
      EXPECT_FALSE(verify_inclusion(leaf, index, n * 2, proof, root_hash));
      if (index < n / 2) {
        EXPECT_FALSE(verify_inclusion(leaf, index, n / 2, proof, root_hash));
      }
      EXPECT_FALSE(verify_inclusion(leaf, n, n, proof, root_hash)) << "index == size";
      EXPECT_FALSE(verify_inclusion(leaf, index, 0, proof, root_hash));
    }
    EXPECT_THROW(inclusion_proof(hashes, n), Error);
  }
}

TEST(Merkle, ConsistencyRoundTripsUpTo64Leaves) {
  const std::vector<std::string> all = sweep_leaf_hashes();
  const std::string empty_root = unhex(kEmptyRoot);
  std::vector<std::string> roots;
  for (std::size_t n = 0; n <= all.size(); ++n)
    roots.push_back(root_from_leaf_hashes(prefix(all, n)));
  for (std::uint64_t new_size = 0; new_size <= all.size(); ++new_size) {
    const std::vector<std::string> hashes = prefix(all, new_size);
    for (std::uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      SCOPED_TRACE("sizes " + std::to_string(old_size) + " -> " + std::to_string(new_size));
      const std::vector<std::string> proof = consistency_proof(hashes, old_size);
      const std::string& old_root = roots[old_size];
      const std::string& new_root = roots[new_size];
      ASSERT_TRUE(verify_consistency(old_size, new_size, old_root, new_root, proof));
      auto accepts = [&](const std::vector<std::string>& p) {
        return verify_consistency(old_size, new_size, old_root, new_root, p);
      };
      expect_misshapen_rejected(proof, new_root, accepts);
      if (old_size == 0 || old_size == new_size) {
        // No proof is needed, so the roots carry the whole claim.
        EXPECT_TRUE(proof.empty());
        EXPECT_FALSE(verify_consistency(old_size, new_size, leaf_hash("x"), new_root, proof));
        if (old_size == new_size && new_size > 0) {
          EXPECT_FALSE(verify_consistency(old_size, new_size, old_root, leaf_hash("x"), proof));
        }
        continue;
      }
      expect_bit_flips_rejected(proof, accepts, new_size <= kEveryBitUpTo);
      EXPECT_FALSE(accepts({}));
      EXPECT_FALSE(verify_consistency(old_size, new_size, new_root, old_root, proof));
      EXPECT_FALSE(verify_consistency(old_size, new_size, empty_root, new_root, proof));
      // Another old size pairs the proof with a root it was not made for.
      for (std::uint64_t other = 1; other <= new_size; ++other) {
        if (other != old_size) {
          EXPECT_FALSE(verify_consistency(other, new_size, roots[other], new_root, proof));
          EXPECT_FALSE(verify_consistency(other, new_size, old_root, new_root, proof));
        }
      }
      EXPECT_FALSE(verify_consistency(old_size, new_size * 2, old_root, new_root, proof));
      if (old_size <= new_size / 2) {
        EXPECT_FALSE(verify_consistency(old_size, new_size / 2, old_root, new_root, proof));
      }
      EXPECT_FALSE(verify_consistency(new_size, old_size, new_root, old_root, proof));
    }
    EXPECT_THROW(consistency_proof(hashes, new_size + 1), Error);
  }
}

TEST(Merkle, ConsistencyEdgeCases) {
  const std::string empty_root = unhex(kEmptyRoot);
  const std::string one = leaf_hash("a");
  EXPECT_TRUE(verify_consistency(0, 0, empty_root, empty_root, {}));
  EXPECT_FALSE(verify_consistency(0, 0, one, one, {})) << "an empty tree has one root";
  EXPECT_TRUE(verify_consistency(0, 1, empty_root, one, {}));
  EXPECT_FALSE(verify_consistency(0, 1, empty_root, one, {empty_root}));
  EXPECT_FALSE(verify_consistency(1, 1, one, one, {empty_root}));
  EXPECT_FALSE(verify_consistency(1, 0, one, empty_root, {}));
  EXPECT_FALSE(verify_consistency(1, 2, one, node_hash(one, one), {}));
  EXPECT_FALSE(verify_consistency(1, 1, one, one + "x", {})) << "roots must be 32 bytes";
  EXPECT_FALSE(verify_inclusion(one, 0, 1, {}, one + "x"));
  EXPECT_FALSE(verify_inclusion("", 0, 1, {}, ""));
  EXPECT_TRUE(verify_inclusion(one, 0, 1, {}, one));
}

TEST(MerkleFrontier, MatchesTheTreeHashAtEverySize) {
  Frontier frontier;
  std::vector<std::string> leaf_hashes;
  EXPECT_EQ(hex_encode(frontier.root()), kEmptyRoot);
  for (int n = 1; n <= 70; ++n) {
    leaf_hashes.push_back(leaf_hash(std::string(1, static_cast<char>(n))));
    frontier.append(leaf_hashes.back());
    ASSERT_EQ(frontier.size(), static_cast<std::uint64_t>(n));
    ASSERT_EQ(frontier.root(), root_from_leaf_hashes(leaf_hashes)) << "size " << n;
  }
}

TEST(MerkleFrontier, ReferenceRootsOfTheCtVectors) {
  Frontier frontier;
  for (std::size_t i = 0; i < kLeafInputs.size(); ++i) {
    frontier.append(leaf_hash(kLeafInputs[i]));
    EXPECT_EQ(hex_encode(frontier.root()), kRoots[i]) << "size " << i + 1;
  }
}

TEST(MerkleFrontier, RefusesALeafHashOfTheWrongSize) {
  Frontier frontier;
  EXPECT_THROW(frontier.append("short"), Error);
  EXPECT_EQ(frontier.size(), 0u);
}

}  // namespace
}  // namespace pgfolio::merkle
