// Ed25519 over OpenSSL: the RFC 8032 §7.1 test vectors, the key text forms, and refusal of
// every altered message, signature or key.
#include "signature.hpp"

#include <openssl/err.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "digest.hpp"
#include "error.hpp"
#include "ledger_entry.hpp"

namespace pgfolio::ed25519 {
namespace {

// Raw bytes from hex written in this file (lengths are known: a typo fails loudly).
std::string unhex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 64 <= hex.size(); i += 64) {
    bytes += *ledger::hash_from_hex(hex.substr(i, 64));
  }
  const std::string_view rest = hex.substr(hex.size() / 64 * 64);
  for (std::size_t i = 0; i < rest.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(rest.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

struct Vector {
  const char* name;
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1 "Test Vectors for Ed25519", TEST 1024's 1023-byte message included. The
// message hex was checked against the RFC by signing it: a single wrong digit would give
// another signature.
const char* const kTest1024Message =
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0";

const Vector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", kTest1024Message,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d"
     "9"
     "4b5e8fcd4f681e30a6ac00a9704a188a03"},
};

// TEST 1's key pair as `openssl pkey` writes it (PKCS#8 and SubjectPublicKeyInfo).
const char* const kTest1PrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
const char* const kTest1PublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

TEST(Signature, Rfc8032Vectors) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const PrivateKey key = PrivateKey::from_text(v.secret_key);
    EXPECT_EQ(key.public_key().hex(), v.public_key);
    const std::string message = unhex(v.message);
    const std::string signature = key.sign(message);
    EXPECT_EQ(hex_encode(signature), v.signature);
    const PublicKey public_key = PublicKey::from_text(v.public_key);
    EXPECT_TRUE(public_key.verify(message, unhex(v.signature)));
  }
  EXPECT_EQ(unhex(kTest1024Message).size(), 1023u);
}

TEST(Signature, KeyTextForms) {
  const PrivateKey from_pem = PrivateKey::from_text(kTest1PrivatePem);
  EXPECT_EQ(from_pem.public_key().hex(), kVectors[0].public_key);
  EXPECT_EQ(from_pem.pem(), kTest1PrivatePem);
  EXPECT_EQ(from_pem.public_key().pem(), kTest1PublicPem);
  // Upper-case hex and the whitespace of a key file are accepted.
  const std::string upper_seed =
      "  9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60\n";
  EXPECT_EQ(PrivateKey::from_text(upper_seed).public_key().raw(), from_pem.public_key().raw());

  const PublicKey public_pem = PublicKey::from_text(std::string("\n") + kTest1PublicPem + "\n");
  EXPECT_EQ(public_pem.hex(), kVectors[0].public_key);
  EXPECT_EQ(public_pem.raw().size(), kPublicKeySize);
  EXPECT_EQ(PublicKey::from_raw(public_pem.raw()).pem(), kTest1PublicPem);
  EXPECT_EQ(public_pem.key_id(), sha256_hex(public_pem.raw()));
  EXPECT_EQ(public_pem.key_id(), PublicKey::from_text(kVectors[0].public_key).key_id());
}

TEST(Signature, GeneratedKeysRoundTrip) {
  const PrivateKey key = PrivateKey::generate();
  const PrivateKey other = PrivateKey::generate();
  EXPECT_NE(key.public_key().raw(), other.public_key().raw());
  const std::string message = R"({"format":"pgfolio-checkpoint/1","treeSize":3})";
  const std::string signature = key.sign(message);
  ASSERT_EQ(signature.size(), kSignatureSize);
  EXPECT_EQ(key.sign(message), signature);  // deterministic
  EXPECT_TRUE(key.public_key().verify(message, signature));
  EXPECT_FALSE(other.public_key().verify(message, signature));
  // Reloaded from either text form, the key signs and verifies the same.
  const PrivateKey reloaded = PrivateKey::from_text(key.pem());
  EXPECT_EQ(reloaded.sign(message), signature);
  EXPECT_TRUE(PublicKey::from_text(key.public_key().pem()).verify(message, signature));
  EXPECT_TRUE(PublicKey::from_text(key.public_key().hex()).verify(message, signature));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Signature, OneKeySharedByThreads) {
  // The witness signs on its own thread while request threads may verify with the same key.
  const PrivateKey key = PrivateKey::generate();
  const PublicKey public_key = key.public_key();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string message = "checkpoint " + std::to_string(t) + "/" + std::to_string(i);
        const std::string signature = key.sign(message);
        if (!public_key.verify(message, signature) || public_key.verify(message + ".", signature))
          ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Signature, AlteredMessageSignatureOrKeyIsRefused) {
  const Vector& v = kVectors[2];  // TEST 3
  const std::string message = unhex(v.message);
  const std::string signature = unhex(v.signature);
  const PublicKey key = PublicKey::from_text(v.public_key);
  ASSERT_TRUE(key.verify(message, signature));
  for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
    std::string flipped = message;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << bit % 8));
    EXPECT_FALSE(key.verify(flipped, signature)) << "message bit " << bit;
  }
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    std::string flipped = signature;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << bit % 8));
    EXPECT_FALSE(key.verify(message, flipped)) << "signature bit " << bit;
  }
  for (std::size_t bit = 0; bit < key.raw().size() * 8; ++bit) {
    std::string flipped = key.raw();
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << bit % 8));
    EXPECT_FALSE(PublicKey::from_raw(flipped).verify(message, signature)) << "key bit " << bit;
  }
  EXPECT_FALSE(key.verify(message + "x", signature));
  EXPECT_FALSE(key.verify(message, ""));
  EXPECT_FALSE(key.verify(message, signature.substr(0, 63)));
  EXPECT_FALSE(key.verify(message, signature + "x"));
  EXPECT_FALSE(key.verify(message, std::string(64, '\0')));
  // Refusals leave OpenSSL's error queue empty for whoever calls it next.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Signature, MalleatedSignatureIsRefused) {
  // S + L (L the group order) is the same scalar mod L, so a lax verifier would accept it;
  // RFC 8032 §5.1.7 requires S < L, which is what makes a signature unique per key and
  // message.
  const Vector& v = kVectors[0];
  std::string signature = unhex(v.signature);
  const std::string order =
      unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {  // little-endian addition into S, bytes 32..63
    const unsigned sum = static_cast<unsigned char>(signature[32 + i]) +
                         static_cast<unsigned char>(order[i]) + carry;
    signature[32 + i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  // The same altered signature as in OpenSSL's own tests (evppkey_ecx.txt, "maleability").
  EXPECT_EQ(hex_encode(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "4c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b");
  EXPECT_FALSE(PublicKey::from_text(v.public_key).verify("", signature));
}

TEST(Signature, BadKeyTextIsAValidationError) {
  const char* const x25519_public =  // same size as an Ed25519 key, another algorithm
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VuAyEAdzuwWZnPATlA1T+HNhwbVhKcCCjUbT8OF9muTbJ/cGo=\n"
      "-----END PUBLIC KEY-----\n";
  const char* const x25519_private =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VuBCIEIGCZodogDTui/YHHCVlTFe8SPvj9iyfxUH2MkyK1lFVJ\n"
      "-----END PRIVATE KEY-----\n";
  const char* const encrypted_private =  // TEST 1's key under a password
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhBxIQRs0dAmQICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEDLabzc6EH0oO54ifb0UF7IEQDDX\n"
      "KdYRLc1VJ9yb2JsILs6cVkVk5v03+54ZRXVzYHbAgMJV+wgSgWvYJQsfZm9w90vu\n"
      "F9DaHMBAzwvhLxsp9kg=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  const std::string corrupt_pem =
      std::string(kTest1PublicPem).replace(std::string(kTest1PublicPem).find("11qY"), 4, "!!!!");
  const std::string seed = kVectors[0].secret_key;
  for (const std::string& text :
       {std::string(), std::string("\n"), seed.substr(0, 62), seed + "00", "g" + seed.substr(1),
        seed.substr(0, 31) + " " + seed.substr(32), std::string(x25519_private),
        std::string(encrypted_private), std::string(kTest1PublicPem),
        std::string("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")}) {
    SCOPED_TRACE(text);
    try {
      PrivateKey::from_text(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR);
      EXPECT_EQ(std::string(e.what()).find(seed.substr(8)), std::string::npos)
          << "the message must not quote key material";
    }
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
  for (const std::string& text :
       {std::string(), seed.substr(0, 62), std::string(x25519_public), corrupt_pem,
        std::string(kTest1PrivatePem), std::string("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA")}) {
    SCOPED_TRACE(text);
    try {
      PublicKey::from_text(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR);
    }
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
  EXPECT_THROW(PublicKey::from_raw(std::string(31, 'a')), Error);
  EXPECT_THROW(PrivateKey::from_seed(std::string(33, 'a')), Error);
}

}  // namespace
}  // namespace pgfolio::ed25519
