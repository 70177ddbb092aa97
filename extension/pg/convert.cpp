#include "convert.hpp"

namespace pgfolio::pg {

Decimal to_decimal(Datum numeric) {
  return Decimal::parse(numeric_to_string(numeric));
}

std::string numeric_to_string(Datum numeric) {
  char* text = pg_guard([&] { return DatumGetCString(DirectFunctionCall1(numeric_out, numeric)); });
  std::string result(text);
  pfree(text);
  return result;
}

Datum to_numeric(const Decimal& value) {
  std::string text = value.to_string();
  const char* c_text = text.c_str();
  return pg_guard([&] {
    return DirectFunctionCall3(numeric_in, CStringGetDatum(c_text), ObjectIdGetDatum(InvalidOid),
                               Int32GetDatum(-1));
  });
}

std::string to_string(Datum text_datum) {
  char* c_text = pg_guard([&] { return text_to_cstring(DatumGetTextPP(text_datum)); });
  std::string result(c_text);
  pfree(c_text);
  return result;
}

Datum to_text(const std::string& value) {
  const char* data = value.data();
  int size = static_cast<int>(value.size());
  return pg_guard([&] { return PointerGetDatum(cstring_to_text_with_len(data, size)); });
}

std::string uuid_to_string(Datum uuid) {
  char* text = pg_guard([&] { return DatumGetCString(DirectFunctionCall1(uuid_out, uuid)); });
  std::string result(text);
  pfree(text);
  return result;
}

std::string jsonb_to_string(Datum jsonb) {
  char* text = pg_guard([&] {
    Jsonb* value = DatumGetJsonbP(jsonb);
    return JsonbToCString(nullptr, &value->root, static_cast<int>(VARSIZE(value)));
  });
  std::string result(text);
  pfree(text);
  return result;
}

Datum to_jsonb(const std::string& json_text) {
  const char* c_text = json_text.c_str();
  return pg_guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(c_text)); });
}

}  // namespace pgfolio::pg
