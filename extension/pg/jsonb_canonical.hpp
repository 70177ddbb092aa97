// RFC 8785 (JCS) text of a jsonb value, written straight from jsonb's own representation: no
// JSON text printed and parsed again, no JSON tree built. It runs for every ledger entry that
// ledger_verify checks, so it is the verifier's inner loop.
#pragma once

#include <string>

#include "guard.hpp"

namespace pgfolio::pg {

enum class JsonNumbers {
  // RFC 8785 as it stands: every number is the double nearest it, written as ECMAScript does
  // (pgfolio.canonical_json).
  kEcmascript,
  // The ledger's rule (docs/ledger-format.md §1.4): only integers of magnitude at most 2^53,
  // which that form keeps exact; anything else is refused with Error(VALIDATION_ERROR).
  kExactIntegers,
};

// `field` names the value in error messages.
std::string jsonb_canonical(Datum jsonb, JsonNumbers numbers, const char* field);

}  // namespace pgfolio::pg
