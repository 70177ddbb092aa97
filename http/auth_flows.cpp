#include "auth_flows.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>

#include "access_log.hpp"
#include "base64url.hpp"
#include "digest.hpp"
#include "error.hpp"
#include "totp.hpp"

namespace pgfolio::http {
namespace {

using nlohmann::json;

// Identical for an unknown email and a wrong password (and the time taken matches too: the
// unknown email is checked against a dummy hash).
constexpr const char* kBadCredentials = "The email or password is not correct.";

std::string text_of(const json& body, const char* field) {
  return body.at(field).get<std::string>();  // present and a string: checked by the route
}

json object_from(const std::optional<std::string>& value, const std::string& function) {
  if (!value) throw std::runtime_error("pgfolio." + function + " returned NULL");
  json parsed = json::parse(*value, nullptr, false);
  if (!parsed.is_object()) throw std::runtime_error("pgfolio." + function + " returned no object");
  return parsed;
}

std::string member_text(const json& object, const char* name, const std::string& function) {
  auto found = object.find(name);
  if (found == object.end() || !found->is_string())
    throw std::runtime_error("pgfolio." + function + " answered without \"" + name + "\"");
  return found->get<std::string>();
}

// Calls `function` and returns its object, or the remembered refusal it answered.
struct Answer {
  json object;
  std::optional<Problem> problem;
};
Answer call_object(Transaction& tx, const std::string& function,
                   const std::vector<std::optional<std::string>>& args) {
  auto value = tx.call(function, args);
  if (value)
    if (auto problem = remembered_refusal(*value)) return {json(), std::move(problem)};
  return {object_from(value, function), std::nullopt};
}

Outcome refused(Problem problem) {
  return {"", std::move(problem)};
}

// bytea travels as text in PostgreSQL's hex form, which the parameter cast reads back.
std::string bytea_text(std::string_view bytes) {
  return "\\x" + hex_encode(bytes);
}

// A sealed TOTP secret as the SQL functions hand it out: base64 text ("secret").
std::string sealed_bytes(const std::string& value, const std::string& function) {
  std::string compact;
  for (char c : value)
    if (c != '\n' && c != '\r') compact.push_back(c);  // encode(…, 'base64') breaks lines
  auto bytes = base64_decode(compact);
  if (!bytes) throw std::runtime_error("pgfolio." + function + " returned an unreadable secret");
  return *bytes;
}

// The TOTP secret of `user_id`; a secret sealed for another user or under another key does
// not open, which is an internal error (the key changed or a row was tampered with).
std::string open_secret(const AuthServices& services, const std::string& sealed,
                        const std::string& user_id) {
  auto secret = services.totp_box.open(sealed, user_id);
  if (!secret) throw std::runtime_error("a TOTP secret does not open under PGFOLIO_TOTP_KEY");
  return *secret;
}

// The step of the last TOTP code accepted for the secret (lastStep of the functions that hand
// the secret out); nullopt when none was.
std::optional<std::int64_t> last_step_of(const json& object, const std::string& function) {
  auto found = object.find("lastStep");
  if (found == object.end() || found->is_null()) return std::nullopt;
  if (!found->is_number_integer())
    throw std::runtime_error("pgfolio." + function + " answered a lastStep that is no integer");
  return found->get<std::int64_t>();
}

// A TOTP code checked against the steps now ±1 after `last_step` (RFC 6238 §5.2: a code is
// accepted once). `step` is the matched step, which the SQL function records with a
// compare-and-set; `reused` says that the code is right but its step was used already, so the
// answer can say to wait for the next code rather than that the code is wrong.
struct TotpCheck {
  std::optional<std::int64_t> step;
  bool reused = false;
};
TotpCheck check_totp(const std::string& secret, const std::string& code,
                     std::optional<std::int64_t> last_step) {
  const std::int64_t now = unix_now();
  TotpCheck check;
  check.step = totp::verify(secret, code, now, {}, last_step);
  if (!check.step && last_step) check.reused = totp::verify(secret, code, now).has_value();
  return check;
}

// {"field": "code"}, with "reason": "codeReused" for a code accepted before.
json code_details(const TotpCheck& check) {
  json details = {{"field", "code"}};
  if (check.reused) details["reason"] = "codeReused";
  return details;
}

// The matched step, or a 400 naming the field unless `code` is the TOTP code of `secret` now
// (±1 step) and was not accepted before.
std::int64_t require_totp(const std::string& secret, const std::string& code,
                          std::optional<std::int64_t> last_step) {
  TotpCheck check = check_totp(secret, code, last_step);
  if (!check.step)
    throw Error(ErrorCode::VALIDATION_ERROR,
                check.reused ? "body field 'code' was used already: wait for the next code."
                             : "body field 'code' is not the code the authenticator shows now.",
                code_details(check).dump());
  return *check.step;
}

std::string hash_password(const AuthServices& services, const std::string& password) {
  try {
    return services.hasher.hash(password);
  } catch (const Error& error) {
    if (error.code() == ErrorCode::VALIDATION_ERROR) throw;
    throw std::runtime_error(std::string("password hashing failed: ") + error.what());
  }
}

// The answer of every flow that logs someone in: a signed access token for the session the
// SQL function started, and the refresh token only the client will ever hold.
Outcome tokens_answer(const AuthServices& services, const json& session,
                      const std::string& function, const std::string& refresh_token) {
  const std::string session_id = member_text(session, "sessionId", function);
  auto user = session.find("user");
  if (user == session.end() || !user->is_object())
    throw std::runtime_error("pgfolio." + function + " answered without \"user\"");
  const std::string user_id = member_text(*user, "id", function);
  const std::string role = member_text(*user, "role", function);
  auto access = services.tokens.issue_access(user_id, role, session_id);
  json answer = {{"accessToken", access.token},
                 {"refreshToken", refresh_token},
                 {"expiresIn", access.expires_in},
                 {"tokenType", "Bearer"},
                 {"user", *user}};
  if (session.contains("created")) answer["created"] = session["created"];
  return {dump_json(answer), std::nullopt};
}

// A fresh hash of a password that was just verified against `stored`, when the configured
// Argon2id parameters differ from the stored hash's: the login functions store it with a
// compare-and-set on `stored` (docs/auth.md, "Raising the hashing parameters").
struct Rehash {
  std::optional<std::string> stored;
  std::optional<std::string> fresh;
};

Rehash rehash_if_needed(const AuthServices& services, const std::string& stored,
                        const std::string& password, const std::string& request_id) {
  if (!services.hasher.needs_rehash(stored)) return {};
  try {
    return {stored, services.hasher.hash(password)};
  } catch (const Error& error) {
    // A password the length rules of today refuse keeps its old hash; so does one whose
    // hashing failed (out of memory): the login itself succeeded either way.
    if (error.code() != ErrorCode::VALIDATION_ERROR)
      log_error(request_id, std::string("password rehash skipped: ") + error.what());
    return {};
  }
}

Outcome start_session(const AuthServices& services, Transaction& tx, const std::string& user_id,
                      const std::string& client, const Rehash& rehash = {}) {
  const std::string refresh = new_opaque_token();
  auto started = call_object(
      tx, "auth_session_start",
      {user_id, sha256_hex(refresh), client, std::to_string(services.tokens.refresh_ttl_seconds()),
       rehash.stored, rehash.fresh});
  if (started.problem) return refused(std::move(*started.problem));
  return tokens_answer(services, started.object, "auth_session_start", refresh);
}

// {mfaRequired: true, challenge, expiresIn}: the challenge is the random value whose hash the
// database registered.
Outcome mfa_challenge_answer(const json& started, const std::string& challenge) {
  json answer = {{"mfaRequired", true},
                 {"challenge", challenge},
                 {"expiresIn", started.value("expiresIn", 300)}};
  return {dump_json(answer), std::nullopt};
}

const RequestIdentity kAnonymous{};

DbResult register_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  // Hashed before the transaction: tens of milliseconds that need no connection.
  const std::string password_hash = hash_password(services, text_of(in.body, "password"));
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    auto created = call_object(tx, "auth_register",
                               {text_of(in.body, "email"), password_hash,
                                text_of(in.body, "displayName"), in.client_json});
    if (created.problem) return refused(std::move(*created.problem));
    return start_session(services, tx, member_text(created.object, "userId", "auth_register"),
                         in.client_json);
  });
}

DbResult login_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  const std::string email = text_of(in.body, "email");
  const std::string password = text_of(in.body, "password");
  std::optional<json> account;
  DbResult lookup = database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    auto value = tx.call("auth_login_lookup", {email});
    account.reset();
    if (value) account = object_from(value, "auth_login_lookup");
    return {"{}", std::nullopt};
  });
  if (lookup.problem) return lookup;

  // The hash is checked outside any transaction: it takes tens of milliseconds.
  const bool verified =
      account ? services.hasher.verify(member_text(*account, "passwordHash", "auth_login_lookup"),
                                       password)
              : services.hasher.verify_dummy(password);
  std::optional<std::string> user_id;
  if (account) user_id = member_text(*account, "userId", "auth_login_lookup");
  const std::string status = account ? account->value("status", "") : "";
  if (!verified || status != "active") {
    // Only someone who knows the password learns that the account is suspended.
    Problem problem = verified
                          ? make_problem(ErrorCode::FORBIDDEN, "This account is " + status + ".",
                                         {{"status", status}})
                          : make_problem(ErrorCode::UNAUTHORIZED, kBadCredentials);
    const std::string reason = verified ? "inactive" : "password";
    return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
      tx.call("auth_login_failed", {user_id, in.client_json, reason});
      return refused(problem);
    });
  }

  // Only a login that got this far (right password, active account) replaces the stored hash;
  // the new one is made outside any transaction, like the verification.
  const Rehash rehash =
      rehash_if_needed(services, member_text(*account, "passwordHash", "auth_login_lookup"),
                       password, in.request_id);
  if (account->value("mfaEnabled", false)) {
    const std::string challenge = new_opaque_token();
    return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
      auto started = call_object(tx, "auth_mfa_challenge_start",
                                 {user_id, sha256_hex(challenge), rehash.stored, rehash.fresh});
      if (started.problem) return refused(std::move(*started.problem));
      return mfa_challenge_answer(started.object, challenge);
    });
  }
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    return start_session(services, tx, *user_id, in.client_json, rehash);
  });
}

DbResult refresh_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  const std::string presented = text_of(in.body, "refreshToken");
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    const std::string next = new_opaque_token();
    // One call: auth_refresh rotates and answers the session and the user, as a login does.
    auto rotated =
        call_object(tx, "auth_refresh", {sha256_hex(presented), sha256_hex(next), in.client_json});
    if (rotated.problem) return refused(std::move(*rotated.problem));
    return tokens_answer(services, rotated.object, "auth_refresh", next);
  });
}

// The OTP code's hash binds it to the phone (docs/auth.md): a code sent to one phone is
// worthless with another.
std::string otp_code_hash(const std::string& phone, const std::string& code) {
  return sha256_hex("pgfolio-otp:" + phone + ":" + code);
}

DbResult otp_verify_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  const std::string phone = text_of(in.body, "phone");
  const std::string code_hash = otp_code_hash(phone, text_of(in.body, "code"));
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    // A session's refresh token, or, for an account with MFA on, the MFA challenge.
    const std::string secret = new_opaque_token();
    auto verified = call_object(tx, "auth_otp_verify",
                                {phone, code_hash, sha256_hex(secret), in.client_json,
                                 std::to_string(services.tokens.refresh_ttl_seconds())});
    if (verified.problem) return refused(std::move(*verified.problem));
    if (verified.object.value("mfaRequired", false))
      return mfa_challenge_answer(verified.object, secret);
    return tokens_answer(services, verified.object, "auth_otp_verify", secret);
  });
}

DbResult password_reset_flow(const AuthServices& services, Database& database,
                             const FlowRequest& in) {
  const std::string password_hash = hash_password(services, text_of(in.body, "password"));
  const std::string token_hash = sha256_hex(text_of(in.body, "token"));
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    auto reset =
        call_object(tx, "auth_password_reset", {token_hash, password_hash, in.client_json});
    if (reset.problem) return refused(std::move(*reset.problem));
    return {dump_json(reset.object), std::nullopt};
  });
}

DbResult mfa_verify_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  const std::string challenge_hash = sha256_hex(text_of(in.body, "challenge"));
  const std::string code = text_of(in.body, "code");
  return database.transact(kAnonymous, in.request_id, [&](Transaction& tx) -> Outcome {
    // Uses up one of the challenge's attempts; a wrong code commits, so the count is kept.
    auto taken = call_object(tx, "auth_mfa_challenge_take", {challenge_hash});
    if (taken.problem) return refused(std::move(*taken.problem));
    const std::string user_id = member_text(taken.object, "userId", "auth_mfa_challenge_take");
    const std::string secret =
        open_secret(services,
                    sealed_bytes(member_text(taken.object, "secret", "auth_mfa_challenge_take"),
                                 "auth_mfa_challenge_take"),
                    user_id);
    const TotpCheck check =
        check_totp(secret, code, last_step_of(taken.object, "auth_mfa_challenge_take"));
    if (!check.step) {
      tx.call("auth_login_failed", {user_id, in.client_json, std::string("mfa")});
      json details = code_details(check);
      if (taken.object.contains("attemptsLeft"))
        details["attemptsLeft"] = taken.object["attemptsLeft"];
      return refused(make_problem(ErrorCode::UNAUTHORIZED,
                                  check.reused
                                      ? "The code was used already: wait for the next one."
                                      : "The code is not the one the authenticator shows now.",
                                  details));
    }
    // The step is recorded with a compare-and-set: of two logins with one code, even at once,
    // only the first gets a session.
    const std::string refresh = new_opaque_token();
    auto started = call_object(
        tx, "auth_mfa_session_start",
        {challenge_hash, sha256_hex(refresh), in.client_json,
         std::to_string(services.tokens.refresh_ttl_seconds()), std::to_string(*check.step)});
    if (started.problem) return refused(std::move(*started.problem));
    return tokens_answer(services, started.object, "auth_mfa_session_start", refresh);
  });
}

DbResult mfa_enrol_flow(const AuthServices& services, Database& database, const FlowRequest& in) {
  const std::string secret = totp::generate_secret();
  // Sealed with the user id as associated data: the ciphertext opens for this user only.
  const std::string sealed = services.totp_box.seal(secret, in.identity.user_id);
  return database.transact(in.identity, in.request_id, [&](Transaction& tx) -> Outcome {
    auto enrolled = call_object(tx, "mfa_enrol", {bytea_text(sealed)});
    if (enrolled.problem) return refused(std::move(*enrolled.problem));
    // The label authenticator apps show: the account's email or phone when it has one.
    std::string account = in.identity.user_id;
    auto label = enrolled.object.find("account");
    if (label != enrolled.object.end() && label->is_string() && !label->get<std::string>().empty())
      account = label->get<std::string>();
    json answer = {{"secret", base32_encode(secret, false)},
                   {"otpauthUri", totp::otpauth_uri(services.totp_issuer, account, secret)}};
    return {dump_json(answer), std::nullopt};
  });
}

// Confirm and disable: the code must match the stored (pending or active) secret before the
// SQL function changes anything.
DbResult mfa_change_flow(const AuthServices& services, Database& database, const FlowRequest& in,
                         const std::string& secret_function, const std::string& change_function) {
  const std::string code = text_of(in.body, "code");
  return database.transact(in.identity, in.request_id, [&](Transaction& tx) -> Outcome {
    auto stored = tx.call(secret_function, {});
    if (stored)
      if (auto problem = remembered_refusal(*stored)) return refused(std::move(*problem));
    if (!stored)
      throw Refusal(make_problem(ErrorCode::CONFLICT,
                                 secret_function == "mfa_pending_secret"
                                     ? "No MFA enrolment is waiting for confirmation."
                                     : "MFA is not enabled.",
                                 json::object()));
    // {"secret": "<base64>", "lastStep"}
    const json answer = object_from(stored, secret_function);
    const std::string sealed =
        sealed_bytes(member_text(answer, "secret", secret_function), secret_function);
    const std::int64_t step = require_totp(open_secret(services, sealed, in.identity.user_id), code,
                                           last_step_of(answer, secret_function));
    // mfa_confirm records the matched step, and is told which ciphertext the code was checked
    // against (it refuses if another enrolment replaced it meanwhile); mfa_disable compares
    // the step with the last one accepted, so a code that logged in cannot turn MFA off.
    auto changed = change_function == "mfa_confirm"
                       ? tx.call(change_function, {std::to_string(step), bytea_text(sealed)})
                       : tx.call(change_function, {std::to_string(step)});
    if (changed)
      if (auto problem = remembered_refusal(*changed)) return refused(std::move(*problem));
    if (changed && !changed->empty() && (*changed)[0] == '{') return {*changed, std::nullopt};
    return {R"({"success":true})", std::nullopt};
  });
}

}  // namespace

AuthServices::AuthServices(const AuthConfig& config)
    : tokens(config),
      hasher(config.argon2),
      totp_box(config.totp_key),
      totp_issuer(config.totp_issuer) {}

static DbResult dispatch_flow(const AuthServices& services, Database& database,
                              const FlowRequest& request) {
  switch (request.route.flow) {
    case Flow::kRegister:
      return register_flow(services, database, request);
    case Flow::kLogin:
      return login_flow(services, database, request);
    case Flow::kRefresh:
      return refresh_flow(services, database, request);
    case Flow::kOtpVerify:
      return otp_verify_flow(services, database, request);
    case Flow::kPasswordReset:
      return password_reset_flow(services, database, request);
    case Flow::kMfaVerify:
      return mfa_verify_flow(services, database, request);
    case Flow::kMfaEnrol:
      return mfa_enrol_flow(services, database, request);
    case Flow::kMfaConfirm:
      return mfa_change_flow(services, database, request, "mfa_pending_secret", "mfa_confirm");
    case Flow::kMfaDisable:
      return mfa_change_flow(services, database, request, "mfa_secret", "mfa_disable");
    case Flow::kNone:
      break;
  }
  throw std::logic_error("run_flow called for a route without a flow");
}

DbResult run_flow(const AuthServices& services, Database& database, const FlowRequest& request) {
  try {
    return dispatch_flow(services, database, request);
  } catch (const Error& error) {
    // Outside a transaction, only input refusals are expected (the hasher's length rules).
    if (catalog_entry(error.code()).http_status >= 500) throw;
    return {std::nullopt, make_problem(error.code(), error.what(),
                                       json::parse(error.details_json(), nullptr, false))};
  }
}

}  // namespace pgfolio::http
