// jsonb values as nlohmann::json, for the canonical JSON of the ledger and of
// pgfolio.canonical_json. The jsonb is walked directly (no text form printed and parsed
// again): this runs once per ledger entry in ledger_verify.
#pragma once

#include <nlohmann/json.hpp>

#include "guard.hpp"

namespace pgfolio::pg {

// jsonb numerics become JSON numbers as RFC 8785 reads JSON text: an integer that fits 64 bits
// is kept as an integer (the ledger's rule on exact integers needs to see it as one), anything
// else becomes the double nearest its decimal value.
nlohmann::json jsonb_to_json(Datum jsonb);

}  // namespace pgfolio::pg
