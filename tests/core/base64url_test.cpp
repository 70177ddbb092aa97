// RFC 4648 encodings: the §10 test vectors, and the strictness the JWT and TOTP code rely on.
#include "base64url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "digest.hpp"

namespace pgfolio {
namespace {

// RFC 4648 §10.
const std::pair<const char*, const char*> kBase64Vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
const std::pair<const char*, const char*> kBase32Vectors[] = {
    {"", ""},
    {"f", "MY======"},
    {"fo", "MZXQ===="},
    {"foo", "MZXW6==="},
    {"foob", "MZXW6YQ="},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======"},
};

std::string strip_padding(std::string text) {
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

TEST(Base64, Rfc4648Vectors) {
  for (const auto& [bytes, text] : kBase64Vectors) {
    EXPECT_EQ(base64_encode(bytes), text);
    EXPECT_EQ(base64_decode(text), std::optional<std::string>(bytes)) << text;
    // base64url is the same without padding for these (no '+' or '/' occur).
    EXPECT_EQ(base64url_encode(bytes), strip_padding(text));
    EXPECT_EQ(base64url_decode(strip_padding(text)), std::optional<std::string>(bytes)) << text;
  }
}

TEST(Base32, Rfc4648Vectors) {
  for (const auto& [bytes, text] : kBase32Vectors) {
    EXPECT_EQ(base32_encode(bytes), text);
    EXPECT_EQ(base32_encode(bytes, false), strip_padding(text));
    EXPECT_EQ(base32_decode(text), std::optional<std::string>(bytes)) << text;
    EXPECT_EQ(base32_decode(strip_padding(text)), std::optional<std::string>(bytes)) << text;
  }
}

TEST(Base64, UrlAlphabetDiffersFromStandard) {
  const std::string bytes = "\xfb\xff\xbf";  // all 6-bit groups 62 or 63
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), std::optional<std::string>(bytes));
  EXPECT_FALSE(base64url_decode("+/+/").has_value());
  EXPECT_FALSE(base64_decode("-_-_").has_value());
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), std::optional<std::string>(bytes));
    EXPECT_EQ(base64_decode(base64_encode(bytes)), std::optional<std::string>(bytes));
    EXPECT_EQ(base32_decode(base32_encode(bytes)), std::optional<std::string>(bytes));
    EXPECT_EQ(base32_decode(base32_encode(bytes, false)), std::optional<std::string>(bytes));
    bytes.push_back(static_cast<char>(i * 7 + 3));
  }
  const std::string random = random_bytes(1000);
  EXPECT_EQ(base64url_decode(base64url_encode(random)), std::optional<std::string>(random));
}

TEST(Base64, DecodersAreStrict) {
  for (const char* bad : {
           "Zg=",    // short padding
           "Zg===",  // extra padding
           "Z===",   // a lone character holds no byte
           "Z",
           "Zm9vY",  // same, unpadded
           "Zh==",   // unused bits set: "Zg==" is the canonical spelling of "f"
           "Zm9=",   // likewise for "fo"
           "Zm 9v",
           "Zm9v\n",
           " Zm9v",
           "Zm9v=",
           "=Zm9v",
           "Zg==Zg==",
           "Zm9v\xc3\xa9",
           "Zm-v",
       })
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  for (const char* bad :
       {"Zg==", "Zg=", "Zm8=", "Z", "Zh", "Zm9", "Zm 9v", "Zm9v\n", "Zm+v", "Zm/v", "Zm9v."})
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
  EXPECT_FALSE(base64url_decode(std::string("Zm9v\0", 5)).has_value());
}

TEST(Base32, DecoderIsStrict) {
  for (const char* bad : {
           "MY=====",    // padding present but short
           "MY=======",  // too much
           "M",
           "MZX",
           "MZXW6Y",     // lengths no byte string encodes to
           "MZ======",   // unused bits set: "MY" is the canonical "f"
           "my======",   // lower case
           "MZXW6YTB1",  // '1' is not in the alphabet
           "MZXW 6YTB",
           "MZXW6YTB\n",
           "MZXW6YTB=",
           "MY======MY======",
       })
    EXPECT_FALSE(base32_decode(bad).has_value()) << bad;
}

}  // namespace
}  // namespace pgfolio
