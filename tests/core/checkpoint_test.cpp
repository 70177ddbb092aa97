// Signed checkpoints of docs/ledger-format.md §3.2: the exact signed bytes and signature of a
// known checkpoint, the strict JSON form, and refusal of every altered field.
#include "checkpoint.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "digest.hpp"
#include "error.hpp"
#include "ledger_entry.hpp"

namespace pgfolio::ledger {
namespace {

using nlohmann::json;

// RFC 8032 §7.1 TEST 1's key: its keyId and signatures below can be reproduced with any
// Ed25519 implementation.
const char* const kSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const char* const kKeyId = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
const char* const kPortfolio = "6f1c2a4e-0d3b-4c5a-9e7f-1a2b3c4d5e6f";
const char* const kSignedAt = "2026-11-22T04:19:02.123400Z";

// Written by hand from §3.2 (members in JCS order, treeSize as plain digits).
const char* const kSignedBytes =
    R"({"format":"pgfolio-checkpoint/1","portfolioId":"6f1c2a4e-0d3b-4c5a-9e7f-1a2b3c4d5e6f",)"
    R"("rootHash":"2222222222222222222222222222222222222222222222222222222222222222",)"
    R"("signedAt":"2026-11-22T04:19:02.123400Z","treeSize":12})";
// `openssl pkeyutl -sign -rawin` of kSignedBytes with the same key, independently of this code.
const char* const kSignature =
    "5ce26a989209a27388d33fd2897a13292eb35d61d4846cfa67ce1fa0e9dcfd32"
    "81ca68d5c99e88e1a5f49caf400c16e12ad74bffe71aedc6ae2c249c933f1b02";

const ed25519::PrivateKey& key() {
  static const ed25519::PrivateKey k = ed25519::PrivateKey::from_text(kSeed);
  return k;
}

Checkpoint sample() {
  return sign_checkpoint(kPortfolio, 12, std::string(32, '\x22'), kSignedAt, key());
}

void expect_validation_error(const std::function<void()>& call, const std::string& field) {
  try {
    call();
    ADD_FAILURE() << "accepted; expected a problem with " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR);
    EXPECT_EQ(json::parse(e.details_json()).value("field", ""), field) << e.what();
  }
}

TEST(Checkpoint, SignedBytesAndSignatureOfAKnownCheckpoint) {
  const Checkpoint c = sample();
  EXPECT_EQ(signed_bytes(c), kSignedBytes);
  EXPECT_EQ(c.key_id, kKeyId);
  EXPECT_EQ(c.key_id, sha256_hex(key().public_key().raw()));
  EXPECT_EQ(hex_encode(c.signature), kSignature);
  EXPECT_TRUE(verify_checkpoint_signature(c, key().public_key()));
}

TEST(Checkpoint, JsonFormRoundTrips) {
  const Checkpoint c = sample();
  const json object = to_json(c);
  EXPECT_EQ(object,
            json::parse(std::string(R"({"format":"pgfolio-checkpoint/1",)") + R"("portfolioId":")" +
                        kPortfolio + R"(","rootHash":")" + std::string(64, '2') +
                        R"(","signedAt":")" + kSignedAt + R"(","treeSize":12,"keyId":")" + kKeyId +
                        R"(","signature":")" + kSignature + R"("})"));
  for (const std::string& text : {object.dump(), object.dump(2) + "\n"}) {
    const Checkpoint back = parse_checkpoint(text);
    EXPECT_EQ(back.portfolio_id, c.portfolio_id);
    EXPECT_EQ(back.tree_size, c.tree_size);
    EXPECT_EQ(back.root_hash, c.root_hash);
    EXPECT_EQ(back.signed_at, c.signed_at);
    EXPECT_EQ(back.key_id, c.key_id);
    EXPECT_EQ(back.signature, c.signature);
    EXPECT_TRUE(verify_checkpoint_signature(back, key().public_key()));
  }
  // A treeSize held as a signed integer (as a value built from a bigint column would be).
  json built = object;
  built["treeSize"] = std::int64_t{12};
  ASSERT_TRUE(built["treeSize"].is_number_integer() && !built["treeSize"].is_number_unsigned());
  EXPECT_TRUE(verify_checkpoint_signature(from_json(built), key().public_key()));
  // The largest and smallest tree sizes the format allows.
  for (std::uint64_t size : {std::uint64_t{0}, kMaxExactInteger}) {
    const Checkpoint edge =
        sign_checkpoint(kPortfolio, size, std::string(32, '\0'), kSignedAt, key());
    EXPECT_EQ(from_json(to_json(edge)).tree_size, size);
    EXPECT_TRUE(verify_checkpoint_signature(from_json(to_json(edge)), key().public_key()));
  }
}

TEST(Checkpoint, FromJsonIsStrict) {
  const json good = to_json(sample());
  auto with = [&good](const char* name, const json& value) {
    json changed = good;
    changed[name] = value;
    return changed;
  };
  auto without = [&good](const char* name) {
    json changed = good;
    changed.erase(name);
    return changed;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "(checkpoint)"},
      {without("treeSize"), "treeSize"},
      {without("signature"), "signature"},
      {without("keyId"), "keyId"},
      {without("format"), "format"},
      {with("extra", 1), "extra"},
      {with("entryHash", std::string(64, '0')), "entryHash"},
      {with("format", "pgfolio-checkpoint/2"), "format"},
      {with("portfolioId", "6F1C2A4E-0D3B-4C5A-9E7F-1A2B3C4D5E6F"), "portfolioId"},
      {with("portfolioId", "6f1c2a4e0d3b4c5a9e7f1a2b3c4d5e6f"), "portfolioId"},
      {with("treeSize", -1), "treeSize"},
      {with("treeSize", 12.5), "treeSize"},
      {with("treeSize", "12"), "treeSize"},
      {with("treeSize", kMaxExactInteger + 1), "treeSize"},
      {with("rootHash", std::string(64, 'A')), "rootHash"},
      {with("rootHash", std::string(62, '2')), "rootHash"},
      {with("rootHash", nullptr), "rootHash"},
      {with("signedAt", "2026-11-22T04:19:02Z"), "signedAt"},
      {with("signedAt", "2026-11-22 04:19:02.123400Z"), "signedAt"},
      {with("keyId", std::string(kKeyId).substr(0, 63)), "keyId"},
      {with("keyId", std::string(64, 'F')), "keyId"},
      {with("signature", std::string(kSignature).substr(0, 126)), "signature"},
      {with("signature", std::string(128, 'g')), "signature"},
  };
  for (const auto& [object, field] : cases) {
    SCOPED_TRACE(object.dump());
    expect_validation_error([&object = object] { from_json(object); }, field);
  }
}

TEST(Checkpoint, ParseRefusesWhatIsNotOneJsonObject) {
  const std::string good = to_json(sample()).dump();
  const std::string duplicate = good.substr(0, good.size() - 1) + R"(,"treeSize":13})";
  std::string exponent = good;
  exponent.replace(exponent.find("\"treeSize\":12"), 13, "\"treeSize\":1.2e1");
  for (const std::string& text : {std::string(), std::string("{"), good + good, good + "\n" + good,
                                  duplicate, std::string("[") + good + "]"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(parse_checkpoint(text), Error);
  }
  expect_validation_error([&exponent] { parse_checkpoint(exponent); }, "treeSize");
}

TEST(Checkpoint, EveryAlteredFieldFailsVerification) {
  const Checkpoint good = sample();
  const ed25519::PublicKey& public_key = key().public_key();
  ASSERT_TRUE(verify_checkpoint_signature(good, public_key));
  std::vector<Checkpoint> altered(8, good);
  altered[0].portfolio_id[0] = '7';
  altered[1].tree_size = 13;
  altered[2].tree_size = 11;
  altered[3].root_hash[31] = '\x23';
  altered[4].signed_at = "2026-11-22T04:19:02.123401Z";
  altered[5].signature[0] = static_cast<char>(altered[5].signature[0] ^ 1);
  altered[6].key_id[0] = '3';
  altered[7].root_hash.pop_back();  // breaks the format: false, not an exception
  for (std::size_t i = 0; i < altered.size(); ++i) {
    EXPECT_FALSE(verify_checkpoint_signature(altered[i], public_key)) << "alteration " << i;
  }
  // Another key: refused whether keyId names the signer or was edited to name the other key.
  const ed25519::PrivateKey other = ed25519::PrivateKey::generate();
  EXPECT_FALSE(verify_checkpoint_signature(good, other.public_key()));
  Checkpoint renamed = good;
  renamed.key_id = other.public_key().key_id();
  EXPECT_FALSE(verify_checkpoint_signature(renamed, other.public_key()));
}

TEST(Checkpoint, SigningRefusesFieldsOutsideTheFormat) {
  const std::string root(32, '\0');
  expect_validation_error(
      [&] { sign_checkpoint("6F1C2A4E-0D3B-4C5A-9E7F-1A2B3C4D5E6F", 1, root, kSignedAt, key()); },
      "portfolioId");
  expect_validation_error(
      [&] { sign_checkpoint(kPortfolio, kMaxExactInteger + 1, root, kSignedAt, key()); },
      "treeSize");
  expect_validation_error([&] { sign_checkpoint(kPortfolio, 1, "short", kSignedAt, key()); },
                          "rootHash");
  expect_validation_error(
      [&] { sign_checkpoint(kPortfolio, 1, root, "2026-11-22T04:19:02.1234Z", key()); },
      "signedAt");
  Checkpoint no_signature = sample();
  no_signature.signature.clear();
  expect_validation_error([&] { to_json(no_signature); }, "signature");
}

}  // namespace
}  // namespace pgfolio::ledger
