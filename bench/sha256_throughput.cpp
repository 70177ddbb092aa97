// Raw single-core SHA-256 throughput over the ledger benchmark's canonical bytes (make bench,
// ledger part; bench/ledger_bench.py runs it). The input is the file written by
//   COPY (SELECT convert_to(pgfolio.ledger_canonical_bytes(l), 'UTF8') FROM pgfolio.ledger l
//         ORDER BY portfolio_id, seq) TO '<file>' (FORMAT binary)
// i.e. PostgreSQL's binary COPY format with one bytea column, one row per entry. Everything
// is read into memory first; then, `rounds` times each, it times
//   per_entry: pgfolio::sha256 of every entry on its own, as ledger_verify() hashes them (one
//              digest call per entry, its result returned as a std::string);
//   stream:    one SHA-256 over all the bytes back to back, through a single EVP context: the
//              compression function's own speed on this machine, with no per-call cost at all.
// and prints one JSON line with the records, the bytes and every round's seconds.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "digest.hpp"

namespace {

// Network byte order integers of the COPY format.
std::uint32_t read_u32(const std::string& data, std::size_t at) {
  if (at + 4 > data.size()) throw std::runtime_error("truncated COPY data");
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::uint16_t read_u16(const std::string& data, std::size_t at) {
  if (at + 2 > data.size()) throw std::runtime_error("truncated COPY data");
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

// The records of a binary COPY file of one non-null bytea column, as views into `data`
// (PostgreSQL documentation, "COPY", Binary Format).
std::vector<std::string_view> records_of(const std::string& data) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n\0";
  if (data.size() < 19 || std::memcmp(data.data(), kSignature, 11) != 0)
    throw std::runtime_error("not a PostgreSQL binary COPY file");
  std::size_t at = 15 + read_u32(data, 15) + 4;  // signature, flags, header extension
  std::vector<std::string_view> records;
  for (;;) {
    const std::uint16_t fields = read_u16(data, at);
    at += 2;
    if (fields == 0xffff) break;  // the trailer
    if (fields != 1) throw std::runtime_error("expected one column per row");
    const std::uint32_t length = read_u32(data, at);
    at += 4;
    if (length == 0xffffffff) throw std::runtime_error("a row is NULL");
    if (at + length > data.size()) throw std::runtime_error("truncated COPY data");
    records.emplace_back(data.data() + at, length);
    at += length;
  }
  return records;
}

template <typename Work>
double seconds_of(Work work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string json_list(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    char number[32];
    std::snprintf(number, sizeof number, "%.6f", values[i]);
    out += number;
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: sha256_throughput COPY_FILE [ROUNDS]\n";
    return 2;
  }
  const int rounds = argc == 3 ? std::atoi(argv[2]) : 5;
  if (rounds < 1) {
    std::cerr << "ROUNDS must be a positive number\n";
    return 2;
  }
  try {
    std::ifstream file(argv[1], std::ios::binary);
    if (!file) throw std::runtime_error(std::string("cannot open ") + argv[1]);
    const std::string data((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    const std::vector<std::string_view> records = records_of(data);
    std::uint64_t bytes = 0;
    for (std::string_view record : records) bytes += record.size();

    // Folding every digest's first byte into a checksum that is printed keeps the compiler
    // from dropping the work.
    unsigned checksum = 0;
    std::vector<double> per_entry, stream;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                    EVP_MD_CTX_free);
    std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                           EVP_MD_free);
    if (!context || !sha256) throw std::runtime_error("OpenSSL could not provide SHA-256");
    for (int round = 0; round < rounds; ++round) {
      per_entry.push_back(seconds_of([&] {
        for (std::string_view record : records)
          checksum += static_cast<unsigned char>(pgfolio::sha256(record)[0]);
      }));
      stream.push_back(seconds_of([&] {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        bool ok = EVP_DigestInit_ex2(context.get(), sha256.get(), nullptr) == 1;
        for (std::string_view record : records)
          ok = ok && EVP_DigestUpdate(context.get(), record.data(), record.size()) == 1;
        ok = ok && EVP_DigestFinal_ex(context.get(), digest, &length) == 1;
        if (!ok) throw std::runtime_error("SHA-256 over the stream failed");
        checksum += digest[0];
      }));
    }
    std::cout << "{\"records\":" << records.size() << ",\"bytes\":" << bytes
              << ",\"per_entry_seconds\":" << json_list(per_entry)
              << ",\"stream_seconds\":" << json_list(stream) << ",\"checksum\":" << checksum
              << "}\n";
  } catch (const std::exception& e) {
    std::cerr << "sha256_throughput: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
