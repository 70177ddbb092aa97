// SQL entry points for valuation: pgfolio.portfolio_valuation(uuid) and the batch
// pgfolio.portfolio_values(uuid[]). They load rows through SPI as the calling role, so row-level
// security decides what is visible, and leave the arithmetic to extension/core/valuation.
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "convert.hpp"
#include "error.hpp"
#include "spi.hpp"
#include "valuation.hpp"

namespace pgfolio::pg {
namespace {

// Every query is a SavedQuery: planned once per backend, so that a call costs execution only.
SavedQuery kFxRates{"SELECT base, quote, rate FROM pgfolio.fx_rates", {}};
SavedQuery kPortfolio{
    "SELECT p.base_currency, c.minor_unit, p.cash_balance "
    "FROM pgfolio.portfolios p "
    "JOIN pgfolio.currencies c ON c.code = p.base_currency WHERE p.id = $1",
    {UUIDOID}};
SavedQuery kHoldings{
    "SELECT h.asset_id, a.layer, a.quote_currency, h.quantity, h.average_cost, "
    "       h.frozen_quantity, pr.price, "
    "       to_char(pr.as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM pgfolio.holdings h "
    "JOIN pgfolio.assets a ON a.id = h.asset_id "
    "LEFT JOIN pgfolio.prices pr ON pr.asset_id = h.asset_id "
    "WHERE h.portfolio_id = $1 ORDER BY h.asset_id",
    {UUIDOID}};

// The FX rates, read whole: a few hundred rows at most.
FxTable load_fx(SpiSession& spi) {
  FxTable fx;
  std::uint64_t rows = spi.query(kFxRates);
  for (std::uint64_t r = 0; r < rows; ++r)
    fx.add(to_string(spi.get(r, 1)), to_string(spi.get(r, 2)), to_decimal(spi.get(r, 3)));
  return fx;
}

PortfolioInput load_portfolio(SpiSession& spi, Datum portfolio_id) {
  SpiArg id{UUIDOID, portfolio_id};
  if (spi.query(kPortfolio, {id}) == 0) {
    std::string text = uuid_to_string(portfolio_id);
    throw Error(ErrorCode::NOT_FOUND, "portfolio " + text + " not found",
                R"({"portfolioId":")" + text + R"("})");
  }
  PortfolioInput input;
  input.base_currency = to_string(spi.get(0, 1));
  input.minor_unit = DatumGetInt16(spi.get(0, 2));
  input.cash = to_decimal(spi.get(0, 3));

  std::uint64_t rows = spi.query(kHoldings, {id});
  input.holdings.reserve(rows);
  for (std::uint64_t r = 0; r < rows; ++r) {
    HoldingInput h;
    h.asset_id = to_string(spi.get(r, 1));
    h.layer = parse_layer(to_string(spi.get(r, 2)));
    h.quote_currency = to_string(spi.get(r, 3));
    h.quantity = to_decimal(spi.get(r, 4));
    h.average_cost = to_decimal(spi.get(r, 5));
    h.frozen_quantity = to_decimal(spi.get(r, 6));
    bool no_price = false;
    Datum price = spi.get(r, 7, &no_price);
    if (!no_price) {
      h.price = to_decimal(price);
      h.price_as_of = to_string(spi.get(r, 8));
    }
    input.holdings.push_back(std::move(h));
  }
  return input;
}

// Builds jsonb directly from a JsonSink's events: printing JSON text for jsonb_in to parse
// again cost more than the valuation itself. Events are recorded in C++ first (strings in one
// buffer), then replayed into PostgreSQL's jsonb builder in a single guarded call, which owns
// no C++ objects as the firewall requires.
class JsonbSink final : public JsonSink {
 public:
  void begin_object() override { add(WJB_BEGIN_OBJECT); }
  void end_object() override { add(WJB_END_OBJECT); }
  void begin_array() override { add(WJB_BEGIN_ARRAY); }
  void end_array() override { add(WJB_END_ARRAY); }
  void key(std::string_view name) override {
    add(WJB_KEY, jbvString, name);
    after_key_ = true;
  }
  void string(std::string_view value) override { add(value_token(), jbvString, value); }
  void null() override { add(value_token(), jbvNull); }

  // The jsonb, in the current memory context.
  Datum finish() {
    const Event* events = events_.data();
    const std::size_t count = events_.size();
    const char* text = text_.data();
    return pg_guard([&] {
      JsonbParseState* state = nullptr;
      JsonbValue* result = nullptr;
      for (std::size_t i = 0; i < count; ++i) {
        const Event& e = events[i];
        JsonbValue value;
        value.type = e.type;
        if (e.type == jbvString) {
          value.val.string.val = const_cast<char*>(text + e.offset);
          value.val.string.len = static_cast<int>(e.length);
        }
        bool scalar = e.token == WJB_KEY || e.token == WJB_VALUE || e.token == WJB_ELEM;
        result = pushJsonbValue(&state, e.token, scalar ? &value : nullptr);
      }
      return JsonbPGetDatum(JsonbValueToJsonb(result));
    });
  }

 private:
  struct Event {
    JsonbIteratorToken token;
    jbvType type;
    std::size_t offset;
    std::size_t length;
  };

  // A container is a member's value only right after its key; otherwise an array element.
  void add(JsonbIteratorToken token, jbvType type = jbvNull, std::string_view text = {}) {
    if (token == WJB_BEGIN_OBJECT || token == WJB_BEGIN_ARRAY) after_key_ = false;
    events_.push_back({token, type, text_.size(), text.size()});
    text_.append(text);
  }
  JsonbIteratorToken value_token() {
    bool member = after_key_;
    after_key_ = false;
    return member ? WJB_VALUE : WJB_ELEM;
  }

  std::vector<Event> events_;
  std::string text_;
  bool after_key_ = false;
};

}  // namespace
}  // namespace pgfolio::pg

using namespace pgfolio;
using namespace pgfolio::pg;

PGFOLIO_FUNCTION(pgfolio_portfolio_valuation) {
  Datum portfolio_id = PG_GETARG_DATUM(0);
  JsonbSink jsonb;
  {
    SpiSession spi;
    FxTable fx = load_fx(spi);
    PortfolioInput input = load_portfolio(spi, portfolio_id);
    write_valuation(value_portfolio(input, fx), jsonb);
  }
  // Built after SPI disconnects, so the result lives in the caller's memory context.
  return jsonb.finish();
}

namespace pgfolio::pg {
namespace {

using UuidKey = std::array<unsigned char, UUID_LEN>;

UuidKey uuid_key(Datum uuid) {
  UuidKey key;
  std::memcpy(key.data(), DatumGetUUIDP(uuid)->data, UUID_LEN);
  return key;
}

struct PortfolioTotals {
  int currency = 0;  // index into CurrencyRates
  int minor_unit = 2;
  Decimal cash;
  Decimal holdings_value;
};

// The batch's portfolios by id, in the order they were added. Open addressing (linear probing
// over a power-of-two array of id + index slots) rather than std::unordered_map: looking up
// each holding's portfolio was the batch's largest cost, and a node-based map pays two
// dependent cache misses per lookup where this pays about one.
class PortfolioTable {
 public:
  struct Entry {
    UuidKey id;
    PortfolioTotals totals;
  };

  // The entry for id, added (with default totals) when absent.
  PortfolioTotals& insert(const UuidKey& id) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    Slot& slot = probe(id);
    if (slot.index == 0) {
      entries_.push_back({id, {}});
      slot.id = id;
      slot.index = static_cast<std::uint32_t>(entries_.size());
    }
    return entries_[slot.index - 1].totals;
  }

  PortfolioTotals* find(const UuidKey& id) {
    if (slots_.empty()) return nullptr;
    Slot& slot = probe(id);
    return slot.index == 0 ? nullptr : &entries_[slot.index - 1].totals;
  }

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  struct Slot {
    UuidKey id;
    std::uint32_t index = 0;  // entries_ index + 1; 0 for an empty slot
  };

  // Mixes both halves, so that ids whose leading bytes are a timestamp (UUIDv1, v7) spread too.
  std::size_t home(const UuidKey& id) const {
    std::uint64_t high, low;
    std::memcpy(&high, id.data(), sizeof high);
    std::memcpy(&low, id.data() + sizeof high, sizeof low);
    return static_cast<std::size_t>(((high ^ low) * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  Slot& probe(const UuidKey& id) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(id);; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.index == 0 || slot.id == id) return slot;
    }
  }

  void grow() {
    std::size_t size = slots_.empty() ? 1024 : slots_.size() * 2;
    shift_ = 64;
    for (std::size_t s = size; s > 1; s >>= 1) --shift_;
    slots_.assign(size, Slot{});
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      Slot& slot = probe(entries_[i].id);
      slot.id = entries_[i].id;
      slot.index = static_cast<std::uint32_t>(i + 1);
    }
  }

  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
  int shift_ = 64;
};

struct LatestPrice {
  Decimal price;
  int currency = 0;  // index into CurrencyRates
};

// The batch's FX rates by currency index, each looked up in the FxTable once, when a holding
// first needs it (so a missing pair is an error only if some holding needs it).
class CurrencyRates {
 public:
  explicit CurrencyRates(const FxTable& fx) : fx_(fx) {}

  int index(const std::string& code) {
    auto [it, added] = indexes_.emplace(code, static_cast<int>(codes_.size()));
    if (added) {
      codes_.push_back(code);
      for (auto& row : rates_) row.resize(codes_.size());
      rates_.emplace_back(codes_.size());
    }
    return it->second;
  }
  const std::vector<std::string>& codes() const { return codes_; }

  const Decimal& rate(int from, int to) {
    std::optional<Decimal>& rate = rates_[from][to];
    if (!rate) rate = fx_.rate(codes_[from], codes_[to]);
    return *rate;
  }

 private:
  const FxTable& fx_;
  std::unordered_map<std::string, int> indexes_;
  std::vector<std::string> codes_;
  std::vector<std::vector<std::optional<Decimal>>> rates_;
};

// A text Datum's bytes, without copying them. Asset ids are short, so they are stored inline
// (never compressed or out of line); anything else takes the copying path.
std::string_view text_view(Datum datum, std::string& storage) {
  auto* varlena = reinterpret_cast<struct varlena*>(DatumGetPointer(datum));
  if (VARATT_IS_EXTERNAL(varlena) || VARATT_IS_COMPRESSED(varlena)) {
    storage = to_string(datum);
    return storage;
  }
  return {VARDATA_ANY(varlena), VARSIZE_ANY_EXHDR(varlena)};
}

SavedQuery kPrices{"SELECT asset_id, price, currency FROM pgfolio.prices", {}};
// Two forms of each stream rather than one with "$1 IS NULL OR ...": a saved plan is generic,
// and one generic plan cannot both scan everything and look a few ids up by index.
SavedQuery kAllPortfolios{
    "SELECT p.id, p.base_currency, c.minor_unit, p.cash_balance FROM pgfolio.portfolios p "
    "JOIN pgfolio.currencies c ON c.code = p.base_currency",
    {}};
SavedQuery kSomePortfolios{
    "SELECT p.id, p.base_currency, c.minor_unit, p.cash_balance FROM pgfolio.portfolios p "
    "JOIN pgfolio.currencies c ON c.code = p.base_currency WHERE p.id = ANY($1)",
    {UUIDARRAYOID}};
SavedQuery kAllHoldings{"SELECT h.portfolio_id, h.asset_id, h.quantity FROM pgfolio.holdings h",
                        {}};
SavedQuery kSomeHoldings{
    "SELECT h.portfolio_id, h.asset_id, h.quantity FROM pgfolio.holdings h "
    "WHERE h.portfolio_id = ANY($1)",
    {UUIDARRAYOID}};

// The batch valuation avoids joins altogether: prices and FX rates are small and read whole
// into hash maps, then portfolios and holdings are each streamed once in physical order.
// Each holding is valued with the same holding_value() as the single-portfolio valuation.
struct BatchResult {
  PortfolioTable portfolios;
  std::vector<std::string> currencies;  // by index
};

BatchResult value_portfolios(Datum ids, bool all) {
  BatchResult result;
  SpiSession spi;
  FxTable fx = load_fx(spi);
  CurrencyRates rates(fx);

  std::uint64_t price_rows = spi.query(kPrices);
  // Keyed by views of asset_ids' strings, so that a holding's asset id is looked up without
  // copying it; the vector never reallocates, so the views stay valid.
  std::vector<std::string> asset_ids;
  asset_ids.reserve(price_rows);
  std::unordered_map<std::string_view, LatestPrice> prices;
  prices.reserve(price_rows);
  for (std::uint64_t r = 0; r < price_rows; ++r) {
    asset_ids.push_back(to_string(spi.get(r, 1)));
    prices[asset_ids.back()] = {to_decimal(spi.get(r, 2)), rates.index(to_string(spi.get(r, 3)))};
  }

  SpiArg id_list{UUIDARRAYOID, ids};
  auto stream = [&](SavedQuery& every, SavedQuery& some, auto&& on_batch) {
    if (all)
      spi.stream(every, {}, 10000, on_batch);
    else
      spi.stream(some, {id_list}, 10000, on_batch);
  };
  stream(kAllPortfolios, kSomePortfolios, [&] {
    for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
      PortfolioTotals& t = result.portfolios.insert(uuid_key(spi.get(r, 1)));
      t.currency = rates.index(to_string(spi.get(r, 2)));
      t.minor_unit = DatumGetInt16(spi.get(r, 3));
      t.cash = to_decimal(spi.get(r, 4)).rescale(t.minor_unit);
      t.holdings_value = Decimal::from_int(0).rescale(t.minor_unit);
    }
    check_for_interrupts();
  });

  std::string storage;
  stream(kAllHoldings, kSomeHoldings, [&] {
    for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
      PortfolioTotals* portfolio = result.portfolios.find(uuid_key(spi.get(r, 1)));
      if (portfolio == nullptr) continue;  // not visible to the caller
      PortfolioTotals& t = *portfolio;
      std::string_view asset_id = text_view(spi.get(r, 2), storage);
      auto price = prices.find(asset_id);
      if (price == prices.end()) {
        std::string id(asset_id);
        throw Error(ErrorCode::MISSING_PRICE, "no price for asset " + id,
                    R"({"assetId":")" + id + R"("})");
      }
      const Decimal& rate = rates.rate(price->second.currency, t.currency);
      t.holdings_value +=
          holding_value(to_decimal(spi.get(r, 3)), price->second.price, rate, t.minor_unit);
    }
    check_for_interrupts();
  });
  result.currencies = rates.codes();
  return result;
}

}  // namespace
}  // namespace pgfolio::pg

PGFOLIO_FUNCTION(pgfolio_portfolio_values) {
  bool all = PG_ARGISNULL(0);
  Datum ids = all ? Datum(0) : PG_GETARG_DATUM(0);
  pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
  BatchResult result = value_portfolios(ids, all);

  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (const auto& [id, t] : result.portfolios.entries()) {
    pg_uuid_t uuid;
    std::memcpy(uuid.data, id.data(), UUID_LEN);
    Datum values[5] = {UUIDPGetDatum(&uuid), to_text(result.currencies[t.currency]),
                       to_numeric(t.cash), to_numeric(t.holdings_value),
                       to_numeric(t.cash + t.holdings_value)};
    bool nulls[5] = {false, false, false, false, false};
    pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    check_for_interrupts();
  }
  return Datum(0);
}
