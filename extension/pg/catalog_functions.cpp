// pgfolio.error_catalog_entries(): the C++ error catalog as rows, behind the
// pgfolio.error_catalog view, so SQL raises exactly the SQLSTATEs pgfolio-http maps.
#include "convert.hpp"
#include "error_catalog.hpp"

using namespace pgfolio;
using namespace pgfolio::pg;

PGFOLIO_FUNCTION(pgfolio_error_catalog_entries) {
  pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (const ErrorCatalogEntry& entry : kErrorCatalog) {
    Datum values[4] = {to_text(std::string(entry.name)), Int32GetDatum(entry.http_status),
                       to_text(std::string(entry.sqlstate)), to_text(std::string(entry.title))};
    bool nulls[4] = {false, false, false, false};
    pg_guard([&] {
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
  }
  return Datum(0);
}
