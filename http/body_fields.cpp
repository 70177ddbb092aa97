#include "body_fields.hpp"

#include <set>
#include <stdexcept>

#include "password_hasher.hpp"
#include "url_text.hpp"

namespace pgfolio::http {
namespace {

// Practical rather than RFC 5322: one @, something on each side, a dot in the domain, no
// spaces. What is deliverable is proven by the verification mail.
constexpr const char* kEmailPattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";
constexpr size_t kEmailMaxLength = 254;  // RFC 5321's path limit less the brackets
constexpr const char* kPhonePattern = "^\\+[1-9][0-9]{6,14}$";  // E.164

Problem field_problem(const BodyField& field, const std::string& why,
                      nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json details = {{"field", field.name}};
  details.update(extra);
  return make_problem(ErrorCode::VALIDATION_ERROR, "body field '" + field.name + "' " + why,
                      details);
}

const char* type_name(FieldType type) {
  return type == FieldType::kString ? "string" : "boolean";
}

std::optional<Problem> check_string(const BodyField& field, const std::string& value) {
  // Never echo the value: it may be a password or a code.
  if (auto why = parameter_text_problem(value)) return field_problem(field, *why + ".");
  const size_t length = utf8_length(value);
  if (length < field.min_length)
    return field_problem(field,
                         "must be at least " + std::to_string(field.min_length) + " characters.",
                         {{"minLength", field.min_length}});
  if (length > field.max_length)
    return field_problem(field,
                         "must be at most " + std::to_string(field.max_length) + " characters.",
                         {{"maxLength", field.max_length}});
  if (field.max_bytes > 0 && value.size() > field.max_bytes)
    return field_problem(field, "must be at most " + std::to_string(field.max_bytes) + " bytes.",
                         {{"maxBytes", field.max_bytes}});
  if (field.compiled_pattern && !std::regex_match(value, *field.compiled_pattern))
    return field_problem(field, "does not have the expected form.", {{"pattern", field.pattern}});
  return std::nullopt;
}

}  // namespace

void compile_fields(std::vector<BodyField>& fields) {
  std::set<std::string> names;
  for (BodyField& field : fields) {
    if (!names.insert(field.name).second)
      throw std::logic_error("body field " + field.name + " listed twice");
    for (const std::string& sql_name : field.sql_names)
      if (!names.insert(sql_name).second)
        throw std::logic_error("SQL name " + sql_name + " of body field " + field.name +
                               " is claimed twice");
    if (field.type == FieldType::kString && field.max_length == 0)
      throw std::logic_error("body field " + field.name + " has no max_length");
    if (field.pattern.empty()) continue;
    try {
      field.compiled_pattern = std::make_shared<const std::regex>(field.pattern);
    } catch (const std::regex_error& error) {
      throw std::logic_error("bad pattern for body field " + field.name + ": " + error.what());
    }
  }
}

std::optional<Problem> check_fields(const std::vector<BodyField>& fields,
                                    const nlohmann::json& body) {
  for (const auto& member : body.items()) {
    bool known = false;
    for (const BodyField& field : fields) known = known || field.name == member.key();
    if (!known) {
      // The name is client text: bounded and stripped of what a log or terminal would mind.
      std::string name = member.key().substr(0, 64);
      if (parameter_text_problem(name) || !is_valid_utf8(name)) name = "(unprintable)";
      return make_problem(ErrorCode::VALIDATION_ERROR,
                          "body field '" + name + "' is not one this endpoint takes.",
                          {{"field", name}});
    }
  }
  for (const BodyField& field : fields) {
    auto found = body.find(field.name);
    if (found == body.end()) {
      if (field.required) return field_problem(field, "is required.");
      continue;
    }
    const nlohmann::json& value = *found;
    if (value.is_null()) {
      if (!field.nullable) return field_problem(field, "must not be null.");
      continue;
    }
    const bool type_ok = field.type == FieldType::kString ? value.is_string() : value.is_boolean();
    if (!type_ok)
      return field_problem(field, std::string("must be a ") + type_name(field.type) + ".",
                           {{"expected", type_name(field.type)}});
    if (field.type == FieldType::kString)
      if (auto problem = check_string(field, value.get_ref<const std::string&>())) return problem;
  }
  return std::nullopt;
}

void name_request_field(const std::vector<BodyField>& fields, Problem& problem) {
  auto found = problem.details.find("field");
  if (found == problem.details.end() || !found->is_string()) return;
  const std::string& named = found->get_ref<const std::string&>();
  for (const BodyField& field : fields)
    for (const std::string& sql_name : field.sql_names)
      if (sql_name == named) {
        *found = field.name;
        return;
      }
}

BodyField sent_as(BodyField field, std::vector<std::string> sql_names) {
  field.sql_names = std::move(sql_names);
  return field;
}

nlohmann::json fields_schema(const std::vector<BodyField>& fields) {
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();
  for (const BodyField& field : fields) {
    nlohmann::json schema = {{"type", type_name(field.type)}, {"description", field.description}};
    if (field.type == FieldType::kString) {
      if (field.min_length > 0) schema["minLength"] = field.min_length;
      schema["maxLength"] = field.max_length;
      if (!field.pattern.empty()) schema["pattern"] = field.pattern;
      if (!field.format.empty()) schema["format"] = field.format;
    }
    if (field.nullable) schema["nullable"] = true;
    properties[field.name] = schema;
    if (field.required) required.push_back(field.name);
  }
  nlohmann::json schema = {
      {"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

BodyField email_field(bool required) {
  BodyField field{"email", FieldType::kString, required, "Email address"};
  field.min_length = 3;
  field.max_length = kEmailMaxLength;
  field.pattern = kEmailPattern;
  field.format = "email";
  return field;
}

BodyField password_field(const std::string& name, size_t min_characters,
                         const std::string& description) {
  BodyField field{name, FieldType::kString, true,
                  description + " (at most " + std::to_string(PasswordHasher::kMaxPasswordBytes) +
                      " bytes in UTF-8)"};
  field.min_length = min_characters;
  field.max_length = PasswordHasher::kMaxPasswordBytes;
  field.max_bytes = PasswordHasher::kMaxPasswordBytes;
  field.format = "password";
  return field;
}

BodyField phone_field() {
  BodyField field{"phone", FieldType::kString, true,
                  "Phone number in E.164 form, e.g. +919812345678"};
  field.min_length = 8;
  field.max_length = 16;
  field.pattern = kPhonePattern;
  return field;
}

BodyField digits_code_field(const std::string& name, const std::string& description) {
  BodyField field{name, FieldType::kString, true, description};
  field.min_length = 6;
  field.max_length = 6;
  field.pattern = "^[0-9]{6}$";
  return field;
}

BodyField opaque_token_field(const std::string& name, const std::string& description) {
  BodyField field{name, FieldType::kString, true, description};
  field.min_length = 16;
  field.max_length = 128;
  field.pattern = "^[A-Za-z0-9_-]+$";
  return field;
}

}  // namespace pgfolio::http
