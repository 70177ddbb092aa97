// Streamed answers (GET /api/v1/history/export): a body too large to hold is sent while the
// database produces it. A route with a stream_function is one: its sql_function checks the
// request and answers {"contentType", "filename", "prologue"}; the rows of stream_function
// (a set-returning function of text, called with the same arguments) are then read through a
// server-side cursor a batch at a time, in the same read-only transaction, and written to the
// client as they come, with chunked transfer coding. Memory holds one batch and one chunk,
// whatever the size of the answer.
//
// Two halves, joined by BodyWriter: stream_reply() is the database side (the Dispatcher's
// Reply carries it), SocketBodyWriter the connection side (HttpHandler runs the one with the
// other). Until the head is sent a failure is an ordinary problem answer; after it, the only
// honest signal left is to cut the answer short (no last chunk, connection closed), which
// every HTTP client reports as an incomplete body.
#pragma once

#include <pistache/peer.h>
#include <pistache/transport.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "database.hpp"
#include "reply.hpp"
#include "routes.hpp"

namespace pgfolio::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Where a streamed answer goes: its head once, then its body in pieces.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Sends the head of a 200 answer with this media type and these extra headers. False when
  // no body is wanted (HEAD) or the client is gone: the producer stops there.
  virtual bool start(const std::string& content_type, const HeaderList& headers) = 0;
  // Appends to the body. False once the client is gone or stopped reading.
  virtual bool write(std::string_view data) = 0;
  virtual bool started() const = 0;
};

// Rows per FETCH: the most the server holds of an answer at once (a JSON Lines export row is
// one ledger entry, snapshots included, typically under 2 KB).
inline constexpr size_t kStreamBatchRows = 500;

// The Reply of a streamed route: status 200 and, as its stream, the route's transaction —
// authenticate, sql_function, the head, then stream_function's rows (unless the writer wants
// no body: HEAD). The stream answers a problem when it failed before the head went out.
Reply stream_reply(Database& database, const Route& route,
                   std::vector<std::optional<std::string>> args, RequestIdentity identity,
                   std::string request_id);

// Writes a streamed answer onto a Pistache connection. The head goes through Pistache's
// transport (after the answers to earlier pipelined requests, which it sends first); the
// body is then written to the socket directly, waiting for it to drain between chunks, so a
// slow reader slows the database cursor down instead of piling the answer up in memory, and
// a reader that stops reading for kStallTimeout ends the answer. HTTP/1.1 gets chunked
// transfer coding; HTTP/1.0, which has none, gets the raw body ended by closing the
// connection.
class SocketBodyWriter : public BodyWriter {
 public:
  // The head's text up to (not including) the blank line that ends it, for a 200 answer
  // with this media type and these extra headers: the caller's common headers included.
  using HeadBuilder =
      std::function<std::string(const std::string& content_type, const HeaderList& headers)>;

  static constexpr std::chrono::milliseconds kStallTimeout{30000};
  static constexpr size_t kChunkBytes = 64 * 1024;

  // `transport` is the connection's: the handler's own (Pistache keeps the peer's private).
  SocketBodyWriter(Pistache::Tcp::Transport* transport, std::shared_ptr<Pistache::Tcp::Peer> peer,
                   HeadBuilder head, bool chunked, bool head_only);

  bool start(const std::string& content_type, const HeaderList& headers) override;
  bool write(std::string_view data) override;
  bool started() const override { return started_; }

  // Ends a complete body (the last chunk). False if that could not be written.
  bool finish();
  // Whether the connection can carry another answer: the body was complete and delimited.
  bool reusable() const { return finished_ && chunked_ && !failed_; }
  size_t body_bytes() const { return body_bytes_; }

 private:
  bool flush_chunk();
  // Writes all of `data` to the socket, waiting (up to kStallTimeout per wait) for room.
  bool send_all(std::string_view data);

  Pistache::Tcp::Transport* transport_;
  std::shared_ptr<Pistache::Tcp::Peer> peer_;
  HeadBuilder head_;
  const bool chunked_;
  const bool head_only_;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string pending_;  // body bytes not yet sent as a chunk
  size_t body_bytes_ = 0;
};

}  // namespace pgfolio::http
