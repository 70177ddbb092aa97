#include "json_members.hpp"

#include <algorithm>

#include "error.hpp"

namespace pgfolio {

void MemberReader::refuse(const std::string& member, const std::string& why) const {
  throw Error(ErrorCode::VALIDATION_ERROR, std::string(kind_) + " " + member + " " + why,
              nlohmann::json{{"field", member}}.dump());
}

void MemberReader::require_only(const nlohmann::json& object, const char* const* known,
                                std::size_t count, const char* what) const {
  if (!object.is_object()) refuse(std::string("(") + what + ")", "must be a JSON object");
  for (const auto& item : object.items()) {
    const bool is_known =
        std::any_of(known, known + count, [&](const char* name) { return item.key() == name; });
    if (!is_known) refuse(item.key(), std::string("is not a member of the ") + what + " format");
  }
}

const nlohmann::json& MemberReader::member(const nlohmann::json& object, const char* name) const {
  auto found = object.find(name);
  if (found == object.end()) refuse(name, "is missing");
  return *found;
}

std::string MemberReader::text(const nlohmann::json& object, const char* name) const {
  const nlohmann::json& value = member(object, name);
  if (!value.is_string()) refuse(name, "must be a string");
  return value.get<std::string>();
}

std::optional<std::string> MemberReader::nullable_text(const nlohmann::json& object,
                                                       const char* name) const {
  const nlohmann::json& value = member(object, name);
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) refuse(name, "must be a string or null");
  return value.get<std::string>();
}

}  // namespace pgfolio
