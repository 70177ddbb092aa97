// The fields a route's JSON object body may have, checked before anything else sees the
// body: unknown or missing fields, wrong types, lengths, forms. A failure is a 400
// VALIDATION_ERROR whose details name the field, and the same list is the request body
// schema in the OpenAPI document, so the two cannot disagree.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "problem.hpp"

namespace pgfolio::http {

enum class FieldType { kString, kBoolean };

struct BodyField {
  std::string name;
  FieldType type;
  bool required;
  std::string description;
  size_t min_length = 0;     // characters, for strings
  size_t max_length = 0;     // characters, for strings (required for them)
  size_t max_bytes = 0;      // for strings; 0 when max_length is the only limit
  std::string pattern = "";  // ECMAScript regular expression the whole value must match
  std::string format = "";   // OpenAPI format shown in the document ("email", "password", …)
  bool nullable = false;     // JSON null accepted (the SQL function clears the value)
  // The names the SQL functions give the arguments made from this field (refreshHash for
  // refreshToken, totpStep for a TOTP code, …): a problem naming one of them in
  // details.field is answered naming this field (name_request_field).
  std::vector<std::string> sql_names = {};
  std::shared_ptr<const std::regex> compiled_pattern = nullptr;  // set by compile_fields
};

// Compiles the patterns; throws std::logic_error naming the field for a bad one, or for a
// name (field or SQL name) that two fields would claim.
void compile_fields(std::vector<BodyField>& fields);

// The one place where a problem's details.field becomes the request's: when it is a SQL
// argument's name (a field's sql_names), it is replaced by that field's name. Clients then
// see "refreshToken" or "code", never the hashes and steps made from them.
void name_request_field(const std::vector<BodyField>& fields, Problem& problem);

// `field` with the SQL names of the arguments made from it.
BodyField sent_as(BodyField field, std::vector<std::string> sql_names);

// The first problem with `body` (an object), or nullopt when it fits `fields` exactly.
std::optional<Problem> check_fields(const std::vector<BodyField>& fields,
                                    const nlohmann::json& body);

// The OpenAPI 3.0 schema of an object with exactly these fields.
nlohmann::json fields_schema(const std::vector<BodyField>& fields);

// Common field forms.
BodyField email_field(bool required = true);
BodyField password_field(const std::string& name, size_t min_characters,
                         const std::string& description);
BodyField phone_field();
BodyField digits_code_field(const std::string& name, const std::string& description);
BodyField opaque_token_field(const std::string& name, const std::string& description);

}  // namespace pgfolio::http
