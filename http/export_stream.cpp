#include "export_stream.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "config.hpp"

namespace pgfolio::http {
namespace {

using Clock = std::chrono::steady_clock;

// What a stream_function's route answers first: how its body is to be sent.
struct StreamOpening {
  std::string content_type;
  std::string filename;
  std::string prologue;  // body text before the rows (a CSV header row)
};

// The opening comes from SQL, but it becomes header text: only a media type and a plain file
// name get through, so no answer can carry a line break or a quote into the head.
StreamOpening parse_opening(const std::string& function, const std::string& jsonb_text) {
  static const std::regex media_type("^[a-z]+/[a-z0-9.+-]+(; charset=utf-8)?$");
  static const std::regex file_name("^[A-Za-z0-9._-]{1,200}$");
  const auto opening = nlohmann::json::parse(jsonb_text, nullptr, false);
  const auto text_member = [&opening](const char* name) -> std::optional<std::string> {
    if (!opening.is_object() || !opening.contains(name) || !opening[name].is_string())
      return std::nullopt;
    return opening[name].get<std::string>();
  };
  auto content_type = text_member("contentType");
  auto filename = text_member("filename");
  auto prologue = text_member("prologue");
  if (!content_type || !std::regex_match(*content_type, media_type) || !filename ||
      !std::regex_match(*filename, file_name) || !prologue)
    throw std::runtime_error("pgfolio." + function +
                             " did not answer {contentType, filename, prologue}");
  return {*content_type, *filename, *prologue};
}

// Thrown for anything that fails once the head is out: Database::transact must neither run
// the work again (a second head) nor map it to an answer; it logs it as a failure, and the
// caller sees the head was sent and cuts the answer short.
class StreamCut : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Room { kAvailable, kTimedOut, kBroken };

// Waits until the socket takes more data, the connection breaks or `until` passes.
Room wait_writable(int fd, Clock::time_point until) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return Room::kTimedOut;
    pollfd target{fd, POLLOUT, 0};
    const int ready = ::poll(&target, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Room::kBroken;
    if (ready == 0) return Room::kTimedOut;
    return (target.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0 ? Room::kAvailable
                                                                  : Room::kBroken;
  }
}

Problem refusal(ErrorCode code, const std::string& detail, nlohmann::json details) {
  details["retryAfter"] = kStreamRetryAfterSeconds;
  Problem problem = make_problem(code, detail, std::move(details));
  problem.retry_after_seconds = kStreamRetryAfterSeconds;
  return problem;
}

std::string hex_size(size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), digits[size % 16]);
    size /= 16;
  } while (size > 0);
  return text;
}

}  // namespace

StreamGate::Pass::~Pass() {
  if (gate_) gate_->leave(user_);
}

std::variant<StreamGate::Pass, Problem> StreamGate::enter(const std::string& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!user.empty() && users_.count(user))
    return refusal(ErrorCode::RATE_LIMITED,
                   "An export of yours is still being sent (one at a time per user); retry in " +
                       std::to_string(kStreamRetryAfterSeconds) + " s.",
                   {{"maxConcurrentPerUser", 1}});
  if (running_ >= capacity_)
    return refusal(ErrorCode::SERVICE_UNAVAILABLE,
                   "The server is sending as many exports as it allows at once (" +
                       std::to_string(capacity_) + "); retry in " +
                       std::to_string(kStreamRetryAfterSeconds) + " s.",
                   {{"maxConcurrent", capacity_}});
  ++running_;
  if (!user.empty()) users_.insert(user);
  return Pass(this, user);
}

void StreamGate::leave(const std::string& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  --running_;
  if (!user.empty()) users_.erase(user);
}

Reply stream_reply(Database& database, const Route& route,
                   std::vector<std::optional<std::string>> args, RequestIdentity identity,
                   std::string request_id) {
  Reply reply;
  reply.status = route.success_status;
  reply.stream_user = identity.user_id;
  reply.stream = [&database, &route, args = std::move(args), identity = std::move(identity),
                  request_id = std::move(request_id)](BodyWriter& body) {
    DbResult result = database.transact(identity, request_id, [&](Transaction& tx) -> Outcome {
      // transact runs its work again after a serialization failure or on a fresh connection
      // after a dead idle one; a head already sent cannot be taken back.
      if (body.started()) throw StreamCut("the streamed answer failed after its head was sent");
      auto opened = tx.call(route.sql_function, args);
      if (!opened) throw std::runtime_error("pgfolio." + route.sql_function + " returned NULL");
      if (auto problem = remembered_refusal(*opened)) return {"", std::move(problem)};
      const StreamOpening opening = parse_opening(route.sql_function, *opened);
      if (!body.start(opening.content_type, {{"Content-Disposition", "attachment; filename=\"" +
                                                                         opening.filename + "\""}}))
        return {};  // HEAD, or the client left
      try {
        if (!opening.prologue.empty() && !body.write(opening.prologue)) return {};
        tx.for_each_row(route.stream_function, args, kStreamBatchRows,
                        [&body](std::string_view row) { return body.write(row); });
      } catch (const std::exception& error) {
        throw StreamCut(std::string("streamed answer cut short: ") + error.what());
      }
      return {};
    });
    return result.problem;
  };
  return reply;
}

SocketBodyWriter::SocketBodyWriter(Pistache::Tcp::Transport* transport,
                                   std::shared_ptr<Pistache::Tcp::Peer> peer, HeadBuilder head,
                                   bool head_only, const StreamLimits& limits)
    : transport_(transport),
      peer_(std::move(peer)),
      head_(std::move(head)),
      head_only_(head_only),
      limits_(limits),
      deadline_(Clock::now() + limits.deadline) {}

bool SocketBodyWriter::start(const std::string& content_type, const HeaderList& headers) {
  started_ = true;
  std::string text = head_(content_type, headers) + "Transfer-Encoding: chunked\r\n\r\n";
  // The head goes through the transport, behind what it still holds for this connection (the
  // answers to requests pipelined before this one). Handlers run on the connection's reactor
  // thread, which would write all that only after this handler returns; flush() writes it
  // now, in order, on this thread.
  auto sent = std::make_shared<int>(0);  // 1: all written, -1: failed
  peer_->send(Pistache::RawBuffer(text, text.size()))
      .then([sent](ssize_t) { *sent = 1; }, [sent](std::exception_ptr) { *sent = -1; });
  transport_->flush();
  // Pistache keeps what a full socket did not take for when it reports room; until it has all
  // gone out nothing may be written past it. An empty write makes flush() try again.
  while (*sent == 0 && wait_for_room()) {
    peer_->send(Pistache::RawBuffer(std::string(), 0));
    transport_->flush();
  }
  if (*sent < 0) fail("the connection failed while the head was sent");
  if (*sent > 0) written_ += text.size();  // behind earlier answers, now all in the socket
  return !failed_ && !head_only_;
}

bool SocketBodyWriter::write(std::string_view data) {
  if (!started_ || failed_ || head_only_) return false;
  pending_.append(data);
  return pending_.size() < kChunkBytes || flush_chunk();
}

bool SocketBodyWriter::flush_chunk() {
  if (pending_.empty()) return true;
  const bool sent =
      send_all(hex_size(pending_.size()) + "\r\n") && send_all(pending_) && send_all("\r\n");
  if (sent) body_bytes_ += pending_.size();
  pending_.clear();
  return sent;
}

bool SocketBodyWriter::finish() {
  if (failed_) return false;
  if (!head_only_) {
    if (!flush_chunk()) return false;
    if (!send_all("0\r\n\r\n")) return false;
  }
  finished_ = true;
  return true;
}

bool SocketBodyWriter::send_all(std::string_view data) {
  const int fd = peer_->fd();
  while (!data.empty() && !failed_) {
    // A client fast enough for the rate limit could still hold its export for ever.
    if (Clock::now() >= deadline_) return fail_at_deadline();
    const ssize_t written = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (written > 0) {
      data.remove_prefix(static_cast<size_t>(written));
      written_ += static_cast<size_t>(written);
    } else if (written < 0 && errno == EINTR) {
      continue;
    } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for_room();
    } else {
      fail("the client closed the connection");
    }
  }
  return !failed_;
}

bool SocketBodyWriter::wait_for_room() {
  // What the client took is measured by what the kernel has delivered (delivered()), not by
  // what this writer could put into the socket: Linux reports room only once a third of the
  // send buffer (which grows to tcp_wmem's maximum, 4 MiB by default) has drained, so a
  // client reading steadily can leave the writer waiting for many seconds. The waiting is done in
  // ticks to look at the delivery between.
  constexpr auto kTick = std::chrono::milliseconds(200);
  const auto window = std::chrono::duration_cast<Clock::duration>(limits_.window);
  while (true) {
    const size_t delivered_now = delivered();
    if (delivered_now >= window_delivered_ + limits_.min_bytes) {
      window_delivered_ = delivered_now;
      window_waited_ = Clock::duration::zero();
    }
    const auto now = Clock::now();
    if (now >= deadline_) return fail_at_deadline();
    if (window_waited_ >= window)
      return fail("the client took " + std::to_string(delivered_now - window_delivered_) +
                  " bytes in " + std::to_string(limits_.window.count()) +
                  " s of waiting, fewer than the " + std::to_string(limits_.min_bytes) +
                  " required");
    const Room room = wait_writable(
        peer_->fd(), std::min({now + kTick, deadline_, now + window - window_waited_}));
    window_waited_ += Clock::now() - now;
    if (room == Room::kAvailable) return true;
    if (room == Room::kBroken) return fail("the client closed the connection");
  }
}

size_t SocketBodyWriter::delivered() const {
  // SIOCOUTQ: the bytes the socket still holds that the client has not acknowledged, sent or
  // not. Earlier pipelined answers still in it make this an underestimate until they are out.
  int queued = 0;
  if (::ioctl(peer_->fd(), SIOCOUTQ, &queued) != 0 || queued < 0) return written_;
  return written_ > static_cast<size_t>(queued) ? written_ - static_cast<size_t>(queued) : 0;
}

bool SocketBodyWriter::fail_at_deadline() {
  return fail("the answer passed its deadline of " + std::to_string(limits_.deadline.count()) +
              " s");
}

bool SocketBodyWriter::fail(std::string reason) {
  if (!failed_) cut_reason_ = std::move(reason);
  failed_ = true;
  return false;
}

}  // namespace pgfolio::http
