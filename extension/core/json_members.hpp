// Reading the members of a strictly specified JSON object (a ledger entry of an export, a
// signed checkpoint): every refusal is Error(VALIDATION_ERROR) with the member's name in the
// message and in details {"field": ...}, so a verifier can say exactly what is malformed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pgfolio {

class MemberReader {
 public:
  // `kind` begins each message, e.g. "checkpoint member" -> "checkpoint member seq is missing".
  explicit constexpr MemberReader(const char* kind) : kind_(kind) {}

  [[noreturn]] void refuse(const std::string& member, const std::string& why) const;

  // Refuses anything but an object whose members are all among the `count` names at `known`;
  // `what` names the object ("entry": a non-object is refused as member "(entry)").
  void require_only(const nlohmann::json& object, const char* const* known, std::size_t count,
                    const char* what) const;

  const nlohmann::json& member(const nlohmann::json& object, const char* name) const;
  std::string text(const nlohmann::json& object, const char* name) const;
  std::optional<std::string> nullable_text(const nlohmann::json& object, const char* name) const;

 private:
  const char* kind_;
};

}  // namespace pgfolio
