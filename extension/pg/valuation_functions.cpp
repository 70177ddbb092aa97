// SQL entry points for valuation: pgfolio.portfolio_valuation(uuid) and the batch
// pgfolio.portfolio_values(uuid[]). They load rows through SPI as the calling role, so row-level
// security decides what is visible, and leave the arithmetic to extension/core/valuation.
#include <array>
#include <cstring>
#include <unordered_map>

#include "convert.hpp"
#include "error.hpp"
#include "spi.hpp"
#include "valuation.hpp"

namespace pgfolio::pg {
namespace {

// The FX rates, read whole: a few hundred rows at most.
FxTable load_fx(SpiSession& spi) {
  FxTable fx;
  std::uint64_t rows = spi.query("SELECT base, quote, rate FROM pgfolio.fx_rates");
  for (std::uint64_t r = 0; r < rows; ++r)
    fx.add(to_string(spi.get(r, 1)), to_string(spi.get(r, 2)), to_decimal(spi.get(r, 3)));
  return fx;
}

PortfolioInput load_portfolio(SpiSession& spi, Datum portfolio_id) {
  SpiArg id{UUIDOID, portfolio_id};
  if (spi.query("SELECT p.base_currency, c.minor_unit, p.cash_balance "
                "FROM pgfolio.portfolios p "
                "JOIN pgfolio.currencies c ON c.code = p.base_currency WHERE p.id = $1",
                {id}) == 0) {
    std::string text = uuid_to_string(portfolio_id);
    throw Error(ErrorCode::NOT_FOUND, "portfolio " + text + " not found",
                R"({"portfolioId":")" + text + R"("})");
  }
  PortfolioInput input;
  input.base_currency = to_string(spi.get(0, 1));
  input.minor_unit = DatumGetInt16(spi.get(0, 2));
  input.cash = to_decimal(spi.get(0, 3));

  std::uint64_t rows = spi.query(
      "SELECT h.asset_id, a.layer, a.quote_currency, h.quantity, h.average_cost, "
      "       h.frozen_quantity, pr.price, "
      "       to_char(pr.as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
      "FROM pgfolio.holdings h "
      "JOIN pgfolio.assets a ON a.id = h.asset_id "
      "LEFT JOIN pgfolio.prices pr ON pr.asset_id = h.asset_id "
      "WHERE h.portfolio_id = $1 ORDER BY h.asset_id",
      {id});
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

}  // namespace
}  // namespace pgfolio::pg

using namespace pgfolio;
using namespace pgfolio::pg;

PGFOLIO_FUNCTION(pgfolio_portfolio_valuation) {
  Datum portfolio_id = PG_GETARG_DATUM(0);
  std::string json;
  {
    SpiSession spi;
    FxTable fx = load_fx(spi);
    PortfolioInput input = load_portfolio(spi, portfolio_id);
    json = valuation_json(value_portfolio(input, fx));
  }
  // Built after SPI disconnects, so the result lives in the caller's memory context.
  return to_jsonb(json);
}

namespace pgfolio::pg {
namespace {

using UuidKey = std::array<unsigned char, UUID_LEN>;

struct UuidHash {
  std::size_t operator()(const UuidKey& key) const {
    std::size_t h;  // a uuid is random enough that its first bytes are a good hash
    std::memcpy(&h, key.data(), sizeof h);
    return h;
  }
};

UuidKey uuid_key(Datum uuid) {
  UuidKey key;
  std::memcpy(key.data(), DatumGetUUIDP(uuid)->data, UUID_LEN);
  return key;
}

struct PortfolioTotals {
  std::string base_currency;
  int minor_unit = 2;
  Decimal cash;
  Decimal holdings_value;
};

struct LatestPrice {
  Decimal price;
  std::string currency;
};

// The batch valuation avoids joins altogether: prices and FX rates are small and read whole
// into hash maps, then portfolios and holdings are each streamed once in physical order.
// Each holding is valued with the same holding_value() as the single-portfolio valuation.
std::unordered_map<UuidKey, PortfolioTotals, UuidHash> value_portfolios(Datum ids, bool all) {
  std::unordered_map<UuidKey, PortfolioTotals, UuidHash> totals;
  SpiSession spi;
  FxTable fx = load_fx(spi);
  std::unordered_map<std::string, LatestPrice> prices;
  std::uint64_t price_rows = spi.query("SELECT asset_id, price, currency FROM pgfolio.prices");
  for (std::uint64_t r = 0; r < price_rows; ++r)
    prices[to_string(spi.get(r, 1))] = {to_decimal(spi.get(r, 2)), to_string(spi.get(r, 3))};

  SpiArg id_filter{UUIDARRAYOID, ids, all};
  spi.stream(
      "SELECT p.id, p.base_currency, c.minor_unit, p.cash_balance FROM pgfolio.portfolios p "
      "JOIN pgfolio.currencies c ON c.code = p.base_currency "
      "WHERE $1::uuid[] IS NULL OR p.id = ANY($1)",
      {id_filter}, 10000, [&] {
        for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
          PortfolioTotals& t = totals[uuid_key(spi.get(r, 1))];
          t.base_currency = to_string(spi.get(r, 2));
          t.minor_unit = DatumGetInt16(spi.get(r, 3));
          t.cash = to_decimal(spi.get(r, 4)).rescale(t.minor_unit);
          t.holdings_value = Decimal::from_int(0).rescale(t.minor_unit);
        }
        check_for_interrupts();
      });

  spi.stream(
      "SELECT h.portfolio_id, h.asset_id, h.quantity FROM pgfolio.holdings h "
      "WHERE $1::uuid[] IS NULL OR h.portfolio_id = ANY($1)",
      {id_filter}, 10000, [&] {
        for (std::uint64_t r = 0; r < spi.row_count(); ++r) {
          auto portfolio = totals.find(uuid_key(spi.get(r, 1)));
          if (portfolio == totals.end()) continue;  // not visible to the caller
          PortfolioTotals& t = portfolio->second;
          std::string asset_id = to_string(spi.get(r, 2));
          auto price = prices.find(asset_id);
          if (price == prices.end())
            throw Error(ErrorCode::MISSING_PRICE, "no price for asset " + asset_id,
                        R"({"assetId":")" + asset_id + R"("})");
          Decimal rate = fx.rate(price->second.currency, t.base_currency);
          t.holdings_value +=
              holding_value(to_decimal(spi.get(r, 3)), price->second.price, rate, t.minor_unit);
        }
        check_for_interrupts();
      });
  return totals;
}

}  // namespace
}  // namespace pgfolio::pg

PGFOLIO_FUNCTION(pgfolio_portfolio_values) {
  bool all = PG_ARGISNULL(0);
  Datum ids = all ? Datum(0) : PG_GETARG_DATUM(0);
  pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
  auto totals = value_portfolios(ids, all);

  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (const auto& [id, t] : totals) {
    pg_uuid_t uuid;
    std::memcpy(uuid.data, id.data(), UUID_LEN);
    Datum values[5] = {UUIDPGetDatum(&uuid), to_text(t.base_currency), to_numeric(t.cash),
                       to_numeric(t.holdings_value), to_numeric(t.cash + t.holdings_value)};
    bool nulls[5] = {false, false, false, false, false};
    pg_guard([&] {
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
    check_for_interrupts();
  }
  return Datum(0);
}
