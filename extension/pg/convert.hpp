// Conversions between PostgreSQL Datums and the core's C++ values. Each call into PostgreSQL
// is guarded, so a conversion error surfaces as a C++ exception.
#pragma once

#include <string>

#include "decimal.hpp"
#include "guard.hpp"

namespace pgfolio::pg {

// Exact both ways: numeric's text form is parsed by Decimal, and Decimal's text form by
// numeric_in. A numeric that Decimal cannot hold (NaN, too many digits) is a clear error.
Decimal to_decimal(Datum numeric);
Datum to_numeric(const Decimal& value);

// A numeric as PostgreSQL prints it: plain decimal, no exponent ("NaN" and "Infinity" too).
std::string numeric_to_string(Datum numeric);

std::string to_string(Datum text_datum);  // text or varchar
Datum to_text(const std::string& value);
std::string uuid_to_string(Datum uuid);

// jsonb as JSON text, and JSON text (valid: the caller made it) as jsonb, for entry points
// whose core function works on JSON values.
std::string jsonb_to_string(Datum jsonb);
Datum to_jsonb(const std::string& json_text);

}  // namespace pgfolio::pg
