// Response headers for Pistache 0.0.5, which writes only typed headers to the wire: a header
// added with Collection::addRaw is silently dropped from the response. TextHeader is one
// typed header class whose name is chosen at run time, so X-Request-Id, Retry-After, Vary
// and the CORS headers reach the client. Request headers are read raw (Pistache keeps a raw
// copy of every request header).
#pragma once

#include <pistache/http.h>
#include <pistache/http_headers.h>

#include <functional>
#include <optional>
#include <string>

namespace pgfolio::http {

class TextHeader : public Pistache::Http::Header::Header {
 public:
  TextHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}

  const char* name() const override { return name_.c_str(); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  // Never equal to a typed header's hash, so header_cast<ContentType> & co. skip it.
  uint64_t hash() const override {
    return std::hash<std::string>{}("pgfolio:" + name_);
  }
#endif

 private:
  std::string name_;
  std::string value_;
};

// Sets (or replaces) a response header.
inline void set_header(Pistache::Http::ResponseWriter& response, const std::string& name,
                       const std::string& value) {
  response.headers().remove(name);
  response.headers().add(std::make_shared<TextHeader>(name, value));
}

// A request header's raw value, if the client sent it.
inline std::optional<std::string> request_header(const Pistache::Http::Request& request,
                                                 const std::string& name) {
  auto raw = request.headers().tryGetRaw(name);
  if (!raw) return std::nullopt;
  return raw->value();
}

}  // namespace pgfolio::http
