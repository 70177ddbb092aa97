#include "access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "problem.hpp"

namespace pgfolio::http {
namespace {

std::mutex output_mutex;

// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T10:15:30.123Z.
std::string now_utc() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

void write_line(std::FILE* stream, const nlohmann::json& line) {
  std::string text = dump_json(line) + "\n";
  std::lock_guard<std::mutex> lock(output_mutex);
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

}  // namespace

void write_access_log(const AccessLogEntry& entry) {
  // Rounded to microseconds: enough for latency, short in the log.
  double duration_ms =
      static_cast<double>(static_cast<long long>(entry.duration_ms * 1000)) / 1000.0;
  write_line(stdout, {{"time", now_utc()},
                      {"request_id", entry.request_id},
                      {"method", entry.method},
                      {"path", entry.path},
                      {"route", entry.route},
                      {"status", entry.status},
                      {"duration_ms", duration_ms},
                      {"bytes", entry.bytes}});
}

void log_line(const std::string& level, const std::string& message, const nlohmann::json& fields) {
  nlohmann::json line = {{"time", now_utc()}, {"level", level}, {"message", message}};
  if (fields.is_object()) line.update(fields);
  write_line(stderr, line);
}

void log_error(const std::string& request_id, const std::string& message) {
  log_line("error", message, {{"request_id", request_id}});
}

void log_event(const std::string& message) {
  log_line("info", message);
}

}  // namespace pgfolio::http
