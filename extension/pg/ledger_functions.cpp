// SQL entry points of the ledger (sql/80-ledger.sql, docs/ledger.md): entry hashing and its
// canonical bytes, the export line, verification of chains against their checkpoints, Merkle
// roots and proofs. The format itself lives in extension/core/ledger_entry and merkle, shared
// with pgfolio-verify. Reads go through SPI as the caller, so row-level security decides which
// portfolios a caller can verify or prove.
// nlohmann/json (through the core's headers) before PostgreSQL's, whose port.h redefines
// snprintf as a macro.
#include "canonical_json.hpp"
#include "ledger_entry.hpp"
#include "merkle.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "convert.hpp"
#include "digest.hpp"
#include "error.hpp"
#include "jsonb_canonical.hpp"
#include "spi.hpp"

namespace pgfolio::pg {
namespace {

// The ledger's columns that the entry object covers, in the order the readers below expect
// them (entry_hash, when read, comes right after).
constexpr std::array<const char*, 15> kEntryColumns = {
    "portfolio_id",   "seq",        "entry_type",    "asset_id", "quantity", "amount",
    "boundary",       "loan_id",    "protection_id", "message",  "metadata", "snapshot_before",
    "snapshot_after", "created_at", "prev_hash"};

// Microseconds between PostgreSQL's epoch (2000-01-01) and Unix's.
constexpr std::int64_t kPostgresEpochInUnixMicros = 946'684'800'000'000;

using UuidBytes = std::array<unsigned char, UUID_LEN>;

UuidBytes uuid_bytes(Datum uuid) {
  UuidBytes bytes;
  std::memcpy(bytes.data(), DatumGetUUIDP(uuid)->data, UUID_LEN);
  return bytes;
}

// A uuid Datum in the current memory context (the caller's, for results).
Datum uuid_datum(const UuidBytes& bytes) {
  pg_uuid_t* uuid = pg_guard([&] { return static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t))); });
  std::memcpy(uuid->data, bytes.data(), UUID_LEN);
  return UUIDPGetDatum(uuid);
}

std::string bytea_bytes(Datum value) {
  const char* data = nullptr;
  std::size_t size = 0;
  pg_guard([&] {
    bytea* bytes = DatumGetByteaPP(value);
    data = VARDATA_ANY(bytes);
    size = VARSIZE_ANY_EXHDR(bytes);
  });
  return std::string(data, size);
}

Datum bytea_datum(std::string_view bytes) {
  return pg_guard([&] {
    bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(result, VARHDRSZ + bytes.size());
    std::memcpy(VARDATA(result), bytes.data(), bytes.size());
    return PointerGetDatum(result);
  });
}

// Reads field i (an index into kEntryColumns) of one entry, whatever holds it.
template <typename FieldReader>
ledger::Entry entry_from(const FieldReader& field) {
  auto text = [&](int i) -> std::optional<std::string> {
    bool is_null = false;
    Datum value = field(i, &is_null);
    if (is_null) return std::nullopt;
    return to_string(value);
  };
  auto decimal = [&](int i) -> std::optional<std::string> {
    bool is_null = false;
    Datum value = field(i, &is_null);
    if (is_null) return std::nullopt;
    return ledger::canonical_decimal(numeric_to_string(value));
  };
  auto uuid = [&](int i) -> std::optional<std::string> {
    bool is_null = false;
    Datum value = field(i, &is_null);
    if (is_null) return std::nullopt;
    return uuid_to_string(value);
  };
  auto json_value = [&](int i, const char* name) -> std::optional<std::string> {
    bool is_null = false;
    Datum value = field(i, &is_null);
    if (is_null) return std::nullopt;
    return jsonb_canonical(value, JsonNumbers::kExactIntegers, name);
  };
  auto required = [&](int i) {
    bool is_null = false;
    Datum value = field(i, &is_null);
    if (is_null) {
      throw Error(ErrorCode::VALIDATION_ERROR,
                  std::string("ledger entry column ") + kEntryColumns[i] + " is null");
    }
    return value;
  };

  ledger::Entry entry;
  entry.portfolio_id = uuid_to_string(required(0));
  const std::int64_t seq = DatumGetInt64(required(1));
  entry.seq = seq < 0 ? 0 : static_cast<std::uint64_t>(seq);
  entry.entry_type = to_string(required(2));
  entry.asset_id = text(3);
  entry.quantity = decimal(4);
  entry.amount = decimal(5);
  entry.boundary = text(6);
  entry.loan_id = uuid(7);
  entry.protection_id = uuid(8);
  entry.message = text(9);
  entry.metadata = json_value(10, "metadata").value_or("");
  entry.snapshot_before = json_value(11, "snapshotBefore");
  entry.snapshot_after = json_value(12, "snapshotAfter");
  entry.created_at =
      ledger::utc_timestamp(DatumGetTimestampTz(required(13)) + kPostgresEpochInUnixMicros);
  entry.prev_hash = bytea_bytes(required(14));
  return entry;
}

// An entry passed as a row of type pgfolio.ledger.
ledger::Entry entry_from_row(FunctionCallInfo fcinfo) {
  HeapTupleHeader row = pg_guard([&] { return PG_GETARG_HEAPTUPLEHEADER(0); });
  return entry_from([&](int i, bool* is_null) {
    const char* name = kEntryColumns[i];
    return pg_guard([&] { return GetAttributeByName(row, name, is_null); });
  });
}

std::vector<std::string> bytea_array(Datum array_datum, const char* what) {
  Datum* elements = nullptr;
  bool* nulls = nullptr;
  int count = 0;
  int dimensions = 0;
  pg_guard([&] {
    ArrayType* array = DatumGetArrayTypeP(array_datum);
    dimensions = ARR_NDIM(array);
    deconstruct_array(array, BYTEAOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
  });
  if (dimensions > 1) {
    throw Error(ErrorCode::VALIDATION_ERROR,
                std::string(what) + " must be a one-dimensional array");
  }
  std::vector<std::string> result;
  result.reserve(count);
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) {
      throw Error(ErrorCode::VALIDATION_ERROR, std::string(what) + " must not hold NULL (element " +
                                                   std::to_string(i + 1) + ")");
    }
    result.push_back(bytea_bytes(elements[i]));
  }
  return result;
}

Datum bytea_array_datum(const std::vector<std::string>& items) {
  std::vector<Datum> elements;
  elements.reserve(items.size());
  for (const std::string& item : items) elements.push_back(bytea_datum(item));
  Datum* data = elements.data();
  const int count = static_cast<int>(elements.size());
  return pg_guard([&] {
    return PointerGetDatum(construct_array(data, count, BYTEAOID, -1, false, TYPALIGN_INT));
  });
}

std::uint64_t non_negative(std::int64_t value, const char* name) {
  if (value < 0) {
    throw Error(ErrorCode::VALIDATION_ERROR, std::string(name) + " must not be negative",
                std::string(R"({"field":")") + name + R"("})");
  }
  return static_cast<std::uint64_t>(value);
}

SavedQuery kPortfolioVisible{"SELECT 1 FROM pgfolio.portfolios WHERE id = $1", {UUIDOID}};
SavedQuery kEntryHashes{
    "SELECT seq, entry_hash FROM pgfolio.ledger WHERE portfolio_id = $1 AND seq <= $2 "
    "ORDER BY seq",
    {UUIDOID, INT8OID}};

// The leaf hashes of a portfolio's first `size` entries (all of them when size is empty):
// what every proof and root is computed from. Throws NOT_FOUND for a portfolio the caller
// cannot see, VALIDATION_ERROR when the ledger is shorter than `size`, and CONFLICT when its
// seq numbers have a gap (a tampered ledger has no trustworthy tree; ledger_verify says more).
std::vector<std::string> leaf_hashes(Datum portfolio_id, std::optional<std::uint64_t> size) {
  SpiSession spi;
  SpiArg id{UUIDOID, portfolio_id};
  if (spi.query(kPortfolioVisible, {id}) == 0) {
    const std::string text = uuid_to_string(portfolio_id);
    throw Error(ErrorCode::NOT_FOUND, "portfolio " + text + " not found",
                R"({"portfolioId":")" + text + R"("})");
  }
  const std::int64_t limit =
      size ? static_cast<std::int64_t>(*size) : std::numeric_limits<std::int64_t>::max();
  std::vector<std::string> hashes;
  spi.stream(kEntryHashes, {id, SpiArg{INT8OID, Int64GetDatum(limit)}}, 10000, [&] {
    for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
      const std::int64_t seq = DatumGetInt64(spi.get(r, 1));
      if (seq != static_cast<std::int64_t>(hashes.size()) + 1) {
        throw Error(ErrorCode::CONFLICT,
                    "the ledger has a gap before seq " + std::to_string(seq) +
                        "; pgfolio.ledger_verify() reports it",
                    R"({"seq":)" + std::to_string(hashes.size() + 1) + "}");
      }
      hashes.push_back(merkle::leaf_hash(bytea_bytes(spi.get(r, 2))));
    }
  });
  if (size && hashes.size() < *size) {
    throw Error(ErrorCode::VALIDATION_ERROR,
                "tree_size " + std::to_string(*size) + " exceeds the ledger's " +
                    std::to_string(hashes.size()) + " entries",
                R"({"field":"tree_size","entries":)" + std::to_string(hashes.size()) + "}");
  }
  return hashes;
}

}  // namespace

PGFOLIO_FUNCTION(pgfolio_canonical_json) {
  return to_text(jsonb_canonical(PG_GETARG_DATUM(0), JsonNumbers::kEcmascript, "value"));
}

PGFOLIO_FUNCTION(pgfolio_ledger_canonical_bytes) {
  return to_text(ledger::canonical_bytes(entry_from_row(fcinfo)));
}

PGFOLIO_FUNCTION(pgfolio_ledger_entry_hash) {
  return bytea_datum(ledger::entry_hash(entry_from_row(fcinfo)));
}

PGFOLIO_FUNCTION(pgfolio_ledger_export_line) {
  const ledger::Entry entry = entry_from_row(fcinfo);
  HeapTupleHeader row = pg_guard([&] { return PG_GETARG_HEAPTUPLEHEADER(0); });
  bool is_null = false;
  Datum stored = pg_guard([&] { return GetAttributeByName(row, "entry_hash", &is_null); });
  if (is_null) throw Error(ErrorCode::VALIDATION_ERROR, "ledger entry column entry_hash is null");
  return to_text(ledger::export_line(entry, bytea_bytes(stored)));
}

PGFOLIO_FUNCTION(pgfolio_merkle_root) {
  return bytea_datum(merkle::root(bytea_array(PG_GETARG_DATUM(0), "leaves")));
}

PGFOLIO_FUNCTION(pgfolio_merkle_verify_inclusion) {
  const std::int64_t index = PG_GETARG_INT64(1), size = PG_GETARG_INT64(2);
  if (index < 0 || size < 0) return BoolGetDatum(false);
  const std::string leaf = merkle::leaf_hash(bytea_bytes(PG_GETARG_DATUM(0)));
  return BoolGetDatum(merkle::verify_inclusion(
      leaf, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(size),
      bytea_array(PG_GETARG_DATUM(3), "proof"), bytea_bytes(PG_GETARG_DATUM(4))));
}

PGFOLIO_FUNCTION(pgfolio_merkle_verify_consistency) {
  const std::int64_t old_size = PG_GETARG_INT64(0), new_size = PG_GETARG_INT64(1);
  if (old_size < 0 || new_size < 0) return BoolGetDatum(false);
  return BoolGetDatum(merkle::verify_consistency(
      static_cast<std::uint64_t>(old_size), static_cast<std::uint64_t>(new_size),
      bytea_bytes(PG_GETARG_DATUM(2)), bytea_bytes(PG_GETARG_DATUM(3)),
      bytea_array(PG_GETARG_DATUM(4), "proof")));
}

PGFOLIO_FUNCTION(pgfolio_ledger_tree_head) {
  if (PG_ARGISNULL(0)) throw Error(ErrorCode::VALIDATION_ERROR, "portfolio_id is required");
  std::optional<std::uint64_t> size;
  if (!PG_ARGISNULL(1)) size = non_negative(PG_GETARG_INT64(1), "at_size");
  const std::vector<std::string> hashes = leaf_hashes(PG_GETARG_DATUM(0), size);
  const std::string root = merkle::root_from_leaf_hashes(hashes);
  TupleDesc descriptor = nullptr;
  pg_guard([&] {
    if (get_call_result_type(fcinfo, nullptr, &descriptor) != TYPEFUNC_COMPOSITE)
      elog(ERROR, "ledger_tree_head must return a record");
    descriptor = BlessTupleDesc(descriptor);
  });
  Datum values[2] = {Int64GetDatum(static_cast<std::int64_t>(hashes.size())), bytea_datum(root)};
  bool nulls[2] = {false, false};
  return pg_guard([&] { return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls)); });
}

PGFOLIO_FUNCTION(pgfolio_ledger_inclusion_proof) {
  const std::int64_t seq = PG_GETARG_INT64(1);
  const std::uint64_t size = non_negative(PG_GETARG_INT64(2), "tree_size");
  if (seq < 1 || static_cast<std::uint64_t>(seq) > size) {
    throw Error(ErrorCode::VALIDATION_ERROR, "seq must be between 1 and tree_size",
                R"({"field":"seq"})");
  }
  const std::vector<std::string> hashes = leaf_hashes(PG_GETARG_DATUM(0), size);
  return bytea_array_datum(merkle::inclusion_proof(hashes, static_cast<std::uint64_t>(seq - 1)));
}

PGFOLIO_FUNCTION(pgfolio_ledger_consistency_proof) {
  const std::uint64_t old_size = non_negative(PG_GETARG_INT64(1), "old_size");
  const std::uint64_t new_size = non_negative(PG_GETARG_INT64(2), "new_size");
  if (old_size > new_size) {
    throw Error(ErrorCode::VALIDATION_ERROR, "old_size must not exceed new_size",
                R"({"field":"old_size"})");
  }
  const std::vector<std::string> hashes = leaf_hashes(PG_GETARG_DATUM(0), new_size);
  return bytea_array_datum(merkle::consistency_proof(hashes, old_size));
}

namespace {

SavedQuery kAllCheckpoints{
    "SELECT portfolio_id, tree_size, root_hash FROM pgfolio.ledger_checkpoints "
    "ORDER BY portfolio_id, tree_size",
    {}};
SavedQuery kCheckpointsOfOne{
    "SELECT portfolio_id, tree_size, root_hash FROM pgfolio.ledger_checkpoints "
    "WHERE portfolio_id = $1 ORDER BY tree_size",
    {UUIDOID}};
SavedQuery kAllEntries{
    "SELECT portfolio_id, seq, entry_type, asset_id, quantity, amount, boundary, loan_id, "
    "protection_id, message, metadata, snapshot_before, snapshot_after, created_at, prev_hash, "
    "entry_hash FROM pgfolio.ledger ORDER BY portfolio_id, seq",
    {}};
SavedQuery kEntriesOfOne{
    "SELECT portfolio_id, seq, entry_type, asset_id, quantity, amount, boundary, loan_id, "
    "protection_id, message, metadata, snapshot_before, snapshot_after, created_at, prev_hash, "
    "entry_hash FROM pgfolio.ledger WHERE portfolio_id = $1 ORDER BY seq",
    {UUIDOID}};

// A memory context for what reading one row allocates (numeric and uuid text, detoasted
// copies, jsonb iterators), emptied after each row: ledger_verify reads millions of rows in
// one call. Created inside the SPI session, as a child of its context, and deleted before it.
class RowMemory {
 public:
  RowMemory()
      : context_(pg_guard([] {
          return AllocSetContextCreate(CurrentMemoryContext, "pgfolio ledger row",
                                       ALLOCSET_SMALL_SIZES);
        })) {}
  ~RowMemory() { MemoryContextDelete(context_); }
  RowMemory(const RowMemory&) = delete;
  RowMemory& operator=(const RowMemory&) = delete;

  // Runs fn with the row context current, then empties it (also when fn throws).
  template <typename Fn>
  decltype(auto) use(Fn&& fn) {
    struct Restore {
      MemoryContext context, previous;
      ~Restore() {
        MemoryContextSwitchTo(previous);
        MemoryContextReset(context);
      }
    } restore{context_, MemoryContextSwitchTo(context_)};
    return fn();
  }

 private:
  MemoryContext context_;
};

struct Checkpoint {
  std::uint64_t tree_size;
  std::string root;
};

// One portfolio's verification (docs/ledger.md, "Verifying"): its chain in seq order, and the
// Merkle root at each checkpoint's size as the walk passes it.
class PortfolioVerification {
 public:
  PortfolioVerification(UuidBytes id, std::vector<Checkpoint> checkpoints)
      : id_(id), checkpoints_(std::move(checkpoints)) {
    check_checkpoints_at_current_size();
  }

  const UuidBytes& id() const { return id_; }
  bool failed() const { return problem_ != ledger::Problem::None; }

  void add(std::uint64_t seq, std::string_view prev_hash, std::string_view stored_hash,
           std::string_view computed_hash) {
    if (failed()) return;
    problem_ = chain_.check(seq, prev_hash, stored_hash, computed_hash);
    if (failed()) {
      bad_seq_ = chain_.verified() + 1;
      return;
    }
    frontier_.append(merkle::leaf_hash(stored_hash));
    check_checkpoints_at_current_size();
  }

  // Called after the last entry: a checkpoint beyond the end means entries are missing.
  void finish() {
    if (!failed() && next_checkpoint_ < checkpoints_.size()) {
      problem_ = ledger::Problem::CheckpointMismatch;
      bad_seq_ = chain_.verified() + 1;
    }
  }

  std::uint64_t entries_checked() const { return chain_.verified(); }
  ledger::Problem problem() const { return problem_; }
  std::uint64_t bad_seq() const { return bad_seq_; }

 private:
  void check_checkpoints_at_current_size() {
    while (!failed() && next_checkpoint_ < checkpoints_.size() &&
           checkpoints_[next_checkpoint_].tree_size == frontier_.size()) {
      if (checkpoints_[next_checkpoint_].root != frontier_.root()) {
        problem_ = ledger::Problem::CheckpointMismatch;
        // The altered entry lies after the last checkpoint that matched.
        bad_seq_ = matched_size_ + 1;
        return;
      }
      matched_size_ = frontier_.size();
      ++next_checkpoint_;
    }
  }

  UuidBytes id_;
  std::vector<Checkpoint> checkpoints_;
  std::size_t next_checkpoint_ = 0;
  std::uint64_t matched_size_ = 0;
  ledger::ChainChecker chain_;
  merkle::Frontier frontier_;
  ledger::Problem problem_ = ledger::Problem::None;
  std::uint64_t bad_seq_ = 0;
};

}  // namespace

PGFOLIO_FUNCTION(pgfolio_ledger_verify) {
  const bool one = !PG_ARGISNULL(0);
  const Datum portfolio_id = one ? PG_GETARG_DATUM(0) : Datum(0);
  pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
  ReturnSetInfo* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  auto emit = [&](const PortfolioVerification& v) {
    const bool ok = !v.failed();
    Datum values[5] = {uuid_datum(v.id()),
                       Int64GetDatum(static_cast<std::int64_t>(v.entries_checked())),
                       BoolGetDatum(ok), Int64GetDatum(static_cast<std::int64_t>(v.bad_seq())),
                       ok ? Datum(0) : to_text(ledger::problem_name(v.problem()))};
    bool nulls[5] = {false, false, false, ok, ok};
    pg_guard([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  };

  SpiSession spi;
  const SpiArg id{UUIDOID, portfolio_id};
  std::map<UuidBytes, std::vector<Checkpoint>> checkpoints;
  auto read_checkpoints = [&] {
    for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
      checkpoints[uuid_bytes(spi.get(r, 1))].push_back(
          {static_cast<std::uint64_t>(DatumGetInt64(spi.get(r, 2))), bytea_bytes(spi.get(r, 3))});
    }
  };
  if (one) {
    spi.stream(kCheckpointsOfOne, {id}, 10000, read_checkpoints);
  } else {
    spi.stream(kAllCheckpoints, {}, 10000, read_checkpoints);
  }

  RowMemory row_memory;
  std::optional<PortfolioVerification> current;
  auto finish_current = [&] {
    if (!current) return;
    current->finish();
    emit(*current);
    checkpoints.erase(current->id());
    current.reset();
  };
  auto read_entries = [&] {
    for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
      const UuidBytes portfolio = uuid_bytes(spi.get(r, 1));
      if (!current || current->id() != portfolio) {
        finish_current();
        auto found = checkpoints.find(portfolio);
        current.emplace(portfolio,
                        found == checkpoints.end() ? std::vector<Checkpoint>{} : found->second);
      }
      if (current->failed()) continue;
      const std::uint64_t seq = static_cast<std::uint64_t>(DatumGetInt64(spi.get(r, 2)));
      row_memory.use([&] {
        std::string computed;
        try {
          computed = ledger::entry_hash(
              entry_from([&](int i, bool* is_null) { return spi.get(r, i + 1, is_null); }));
        } catch (const Error&) {
          // A row the format cannot serialise (an altered type, a float in a snapshot): the
          // chain checker reports it as malformed. PostgreSQL errors are not caught here.
        }
        current->add(seq, bytea_bytes(spi.get(r, 15)), bytea_bytes(spi.get(r, 16)), computed);
      });
    }
  };
  if (one) {
    spi.stream(kEntriesOfOne, {id}, 1000, read_entries);
  } else {
    spi.stream(kAllEntries, {}, 1000, read_entries);
  }
  finish_current();
  // Portfolios with checkpoints but no entries left at all.
  for (auto& [portfolio, list] : checkpoints) {
    PortfolioVerification orphan(portfolio, list);
    orphan.finish();
    emit(orphan);
  }
  return Datum(0);
}

}  // namespace pgfolio::pg
