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
  std::shared_ptr<const std::regex> compiled_pattern = nullptr;  // set by compile_fields
};

// Compiles the patterns; throws std::logic_error naming the field for a bad one.
void compile_fields(std::vector<BodyField>& fields);

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
