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
// every HTTP client reports as an incomplete body. That signal needs chunked coding, so
// streamed answers are HTTP/1.1 only (HttpHandler refuses them over HTTP/1.0).
//
// A streamed answer holds a reactor thread, a pooled connection and a snapshot for as long as
// its client takes to read it, so StreamLimits bound how many run at once (StreamGate), how
// slowly a client may read and how long one may last (SocketBodyWriter).
#pragma once

#include <pistache/peer.h>
#include <pistache/transport.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "config.hpp"
#include "database.hpp"
#include "problem.hpp"
#include "reply.hpp"
#include "routes.hpp"

namespace pgfolio::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Whole seconds a refused streamed answer is told to wait (Retry-After): exports run for
// seconds to minutes, so an earlier retry would most likely be refused again.
inline constexpr int kStreamRetryAfterSeconds = 5;

// Admits streamed answers: at most `capacity` at once, and one per user at a time, so that
// no one user takes every place (and a second export would only share the first's bandwidth).
class StreamGate {
 public:
  explicit StreamGate(int capacity) : capacity_(capacity) {}

  // Holds an admitted answer's place until destroyed.
  class Pass {
   public:
    Pass(Pass&& other) noexcept
        : gate_(std::exchange(other.gate_, nullptr)), user_(std::move(other.user_)) {}
    Pass& operator=(Pass&&) = delete;
    ~Pass();

   private:
    friend class StreamGate;
    Pass(StreamGate* gate, std::string user) : gate_(gate), user_(std::move(user)) {}
    StreamGate* gate_;
    std::string user_;
  };

  // A Pass, or the problem to answer: 429 RATE_LIMITED while `user` (a user id; empty for
  // none) has one running, 503 SERVICE_UNAVAILABLE when `capacity` are running; both with
  // Retry-After.
  std::variant<Pass, Problem> enter(const std::string& user);

 private:
  void leave(const std::string& user);

  const int capacity_;
  std::mutex mutex_;
  int running_ = 0;
  std::unordered_set<std::string> users_;
};

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

// Writes a streamed answer onto a Pistache connection, with chunked transfer coding. The
// head goes through Pistache's transport (after the answers to earlier pipelined requests,
// which it sends first); the body is then written to the socket directly, waiting for it to
// drain between chunks, so a slow reader slows the database cursor down instead of piling
// the answer up in memory. The writer gives up (cut_reason() says why; the answer is then
// cut short) when the client is gone, when it takes less than StreamLimits allow while the
// writer waits for it, or at the deadline.
class SocketBodyWriter : public BodyWriter {
 public:
  // The head's text up to (not including) the blank line that ends it, for a 200 answer
  // with this media type and these extra headers: the caller's common headers included.
  using HeadBuilder =
      std::function<std::string(const std::string& content_type, const HeaderList& headers)>;

  static constexpr size_t kChunkBytes = 64 * 1024;

  // `transport` is the connection's: the handler's own (Pistache keeps the peer's private).
  // The deadline runs from here.
  SocketBodyWriter(Pistache::Tcp::Transport* transport, std::shared_ptr<Pistache::Tcp::Peer> peer,
                   HeadBuilder head, bool head_only, const StreamLimits& limits);

  bool start(const std::string& content_type, const HeaderList& headers) override;
  bool write(std::string_view data) override;
  bool started() const override { return started_; }

  // Ends a complete body (the last chunk). False if that could not be written.
  bool finish();
  // Whether the connection can carry another answer: the body was complete.
  bool reusable() const { return finished_ && !failed_; }
  size_t body_bytes() const { return body_bytes_; }
  // Why the writer gave up; empty while it has not.
  const std::string& cut_reason() const { return cut_reason_; }

 private:
  bool flush_chunk();
  // Writes all of `data` to the socket, waiting for room as the limits allow.
  bool send_all(std::string_view data);
  // Waits until the socket takes more data; false (the writer failed) when the client is
  // gone, or took too little in the window, or the deadline passed.
  bool wait_for_room();
  // Bytes of this answer the client has acknowledged: what was written, less what the
  // socket still holds.
  size_t delivered() const;
  // Gives up (once; the first reason is kept) and returns false.
  bool fail(std::string reason);
  bool fail_at_deadline();

  Pistache::Tcp::Transport* transport_;
  std::shared_ptr<Pistache::Tcp::Peer> peer_;
  HeadBuilder head_;
  const bool head_only_;
  const StreamLimits limits_;
  const std::chrono::steady_clock::time_point deadline_;
  size_t written_ = 0;  // bytes of this answer put into the socket, head and framing included
  // The current window: delivered() when it began and the time spent waiting for the client
  // since (it begins again each time the client has taken min_bytes more).
  size_t window_delivered_ = 0;
  std::chrono::steady_clock::duration window_waited_{};
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string cut_reason_;
  std::string pending_;  // body bytes not yet sent as a chunk
  size_t body_bytes_ = 0;
};

}  // namespace pgfolio::http
