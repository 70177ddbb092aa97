#include "error_mapping.hpp"

#include <gtest/gtest.h>

namespace pgfolio {
namespace {

std::string_view mapped_name(std::string_view sqlstate) { return map_sqlstate(sqlstate).name; }
int mapped_status(std::string_view sqlstate) { return map_sqlstate(sqlstate).http_status; }

TEST(MapSqlstate, PgfolioOwnStatesMapToTheirCatalogRow) {
  for (const auto& entry : kErrorCatalog) {
    EXPECT_EQ(map_sqlstate(entry.sqlstate).name, entry.name) << entry.sqlstate;
    EXPECT_EQ(map_sqlstate(entry.sqlstate).http_status, entry.http_status) << entry.sqlstate;
  }
  EXPECT_EQ(mapped_name("PF404"), "NOT_FOUND");
  EXPECT_EQ(mapped_status("PF404"), 404);
}

TEST(MapSqlstate, UnknownPgfolioStateIsInternal) {
  EXPECT_EQ(mapped_name("PF999"), "INTERNAL_ERROR");
  EXPECT_EQ(mapped_status("PF999"), 500);
}

TEST(MapSqlstate, DataExceptionsAreValidationErrors) {
  for (const char* state : {"22P02", "22003", "22023", "22007", "22008", "22001", "22004",
                            "22012", "22000"}) {
    EXPECT_EQ(mapped_name(state), "VALIDATION_ERROR") << state;
    EXPECT_EQ(mapped_status(state), 400) << state;
  }
}

TEST(MapSqlstate, IntegrityViolations) {
  EXPECT_EQ(mapped_name("23514"), "VALIDATION_ERROR");
  EXPECT_EQ(mapped_name("23502"), "VALIDATION_ERROR");
  EXPECT_EQ(mapped_name("23505"), "CONFLICT");
  EXPECT_EQ(mapped_status("23505"), 409);
  EXPECT_EQ(mapped_name("23503"), "NOT_FOUND");
  EXPECT_EQ(mapped_status("23503"), 404);
  // Not in the mapping table: stays internal rather than blaming the client.
  EXPECT_EQ(mapped_name("23001"), "INTERNAL_ERROR");
}

TEST(MapSqlstate, InsufficientPrivilegeIsForbidden) {
  EXPECT_EQ(mapped_name("42501"), "FORBIDDEN");
  EXPECT_EQ(mapped_status("42501"), 403);
}

TEST(MapSqlstate, TransientStatesAreServiceUnavailable) {
  for (const char* state : {"57014", "40001", "40P01", "08000", "08006", "08001", "08P01",
                            "53000", "53100", "53200", "53300", "57P01", "57P02", "57P03"}) {
    EXPECT_EQ(mapped_name(state), "SERVICE_UNAVAILABLE") << state;
    EXPECT_EQ(mapped_status(state), 503) << state;
  }
}

TEST(MapSqlstate, EverythingElseIsInternal) {
  for (const char* state : {"42883", "42P01", "XX000", "P0001", "57P04", "40000", "0A000"})
    EXPECT_EQ(mapped_name(state), "INTERNAL_ERROR") << state;
}

TEST(MapSqlstate, MalformedStatesAreInternal) {
  for (const char* state : {"", "2", "22P0", "22P022", "pf404", "22p02", "PF 40"})
    EXPECT_EQ(mapped_name(state), "INTERNAL_ERROR") << '"' << state << '"';
}

TEST(RetryableSqlstate, OnlySerializationFailureAndDeadlock) {
  EXPECT_TRUE(is_retryable_sqlstate("40001"));
  EXPECT_TRUE(is_retryable_sqlstate("40P01"));
  EXPECT_FALSE(is_retryable_sqlstate("40000"));
  EXPECT_FALSE(is_retryable_sqlstate("57014"));
  EXPECT_FALSE(is_retryable_sqlstate(""));
}

TEST(ConnectionLossSqlstate, Class08AndShutdowns) {
  EXPECT_TRUE(is_connection_loss_sqlstate("08006"));
  EXPECT_TRUE(is_connection_loss_sqlstate("57P01"));
  EXPECT_TRUE(is_connection_loss_sqlstate("57P03"));
  EXPECT_FALSE(is_connection_loss_sqlstate("57014"));
  EXPECT_FALSE(is_connection_loss_sqlstate("08"));
}

TEST(ParseLibpqErrorMessage, MessageAndJsonDetail) {
  auto parsed = parse_libpq_error_message(
      "ERROR:  unknown asset: NOPE\nDETAIL:  {\"assetId\": \"NOPE\"}\n"
      "CONTEXT:  PL/pgSQL function pgfolio.get_price(text) line 7 at RAISE\n");
  EXPECT_EQ(parsed.message, "unknown asset: NOPE");
  EXPECT_EQ(parsed.detail, "{\"assetId\": \"NOPE\"}");
}

TEST(ParseLibpqErrorMessage, MessageOnly) {
  auto parsed =
      parse_libpq_error_message("ERROR:  invalid input syntax for type uuid: \"x\"\n");
  EXPECT_EQ(parsed.message, "invalid input syntax for type uuid: \"x\"");
  EXPECT_EQ(parsed.detail, "");
}

TEST(ParseLibpqErrorMessage, DetailFollowedByHint) {
  auto parsed = parse_libpq_error_message(
      "ERROR:  duplicate key value violates unique constraint \"k\"\n"
      "DETAIL:  Key (id)=(1) already exists.\nHINT:  try again\n");
  EXPECT_EQ(parsed.message, "duplicate key value violates unique constraint \"k\"");
  EXPECT_EQ(parsed.detail, "Key (id)=(1) already exists.");
}

TEST(ParseLibpqErrorMessage, SyntaxErrorPositionIsNotPartOfTheMessage) {
  auto parsed = parse_libpq_error_message(
      "ERROR:  syntax error at or near \"x\"\nLINE 1: select x x\n                 ^\n");
  EXPECT_EQ(parsed.message, "syntax error at or near \"x\"");
  EXPECT_EQ(parsed.detail, "");
}

TEST(ParseLibpqErrorMessage, MultiLineMessageIsKept) {
  auto parsed = parse_libpq_error_message("ERROR:  first line\nsecond line\nDETAIL:  {}\n");
  EXPECT_EQ(parsed.message, "first line\nsecond line");
  EXPECT_EQ(parsed.detail, "{}");
}

TEST(ParseLibpqErrorMessage, TextWithoutSeverityIsTakenAsIs) {
  auto parsed = parse_libpq_error_message("server closed the connection unexpectedly\n");
  EXPECT_EQ(parsed.message, "server closed the connection unexpectedly");
}

}  // namespace
}  // namespace pgfolio
