// The Pistache side of pgfolio-http: reads requests off the connection, enforces the
// transport limits in a way that still answers problem+json, hands complete requests to the
// Dispatcher and writes the Reply with the common headers, an access-log line and metrics.
#pragma once

#include <pistache/http.h>
#include <pistache/peer.h>

#include <memory>
#include <optional>
#include <string>

#include "dispatcher.hpp"

namespace pgfolio::http {

// Pistache allows this much for the request line and headers on top of the body limit.
inline constexpr size_t kHeaderAllowanceBytes = 16 * 1024;

class HttpHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(HttpHandler)

  explicit HttpHandler(std::shared_ptr<ServerContext> context);

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

 private:
  // Replaces Pistache's Http::Handler::onInput (a private virtual, which C++ still lets a
  // derived class override). Pistache's version answers an oversized request with a
  // plain-text 413 only once the whole request exceeded its buffer, answers a malformed
  // request with plain text, and then parses the rest of the unread body as the next
  // request. This one answers problem+json, rejects a too-large Content-Length as soon as
  // the headers are in, and closes such connections cleanly (see reject_and_close).
  void onInput(const char* buffer, size_t length,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  // Feeds one piece of input to the connection's parser and answers the request it completes,
  // if any. Returns the input that follows that request (pipelined requests) when the
  // connection stays open and there is some; nothing otherwise.
  std::optional<std::string> consume(const char* buffer, size_t length,
                                     const std::shared_ptr<Pistache::Tcp::Peer>& peer);

  // Answers `problem` for a request that cannot be read to its end, then stops reading
  // from the connection: later input is discarded and the write side is shut down once
  // the answer is out, so the client sees the answer and then end-of-stream (no reset).
  void reject_and_close(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                        const Pistache::Http::Request& partial_request, bool request_line_read,
                        const Problem& problem);

  std::shared_ptr<ServerContext> context_;
};

}  // namespace pgfolio::http
