#include "export_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <regex>
#include <stdexcept>

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

// Waits until the socket takes more data; false at the deadline or when the connection
// broke.
bool wait_writable(int fd, Clock::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd target{fd, POLLOUT, 0};
    const int ready = ::poll(&target, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    return (target.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0;
  }
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

Reply stream_reply(Database& database, const Route& route,
                   std::vector<std::optional<std::string>> args, RequestIdentity identity,
                   std::string request_id) {
  Reply reply;
  reply.status = route.success_status;
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
                                   bool chunked, bool head_only)
    : transport_(transport),
      peer_(std::move(peer)),
      head_(std::move(head)),
      chunked_(chunked),
      head_only_(head_only) {}

bool SocketBodyWriter::start(const std::string& content_type, const HeaderList& headers) {
  started_ = true;
  std::string text = head_(content_type, headers);
  if (chunked_) text += "Transfer-Encoding: chunked\r\n";
  text += "\r\n";
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
  const auto deadline = Clock::now() + kStallTimeout;
  while (*sent == 0) {
    if (!wait_writable(peer_->fd(), deadline)) break;
    peer_->send(Pistache::RawBuffer(std::string(), 0));
    transport_->flush();
  }
  failed_ = *sent != 1;
  return !failed_ && !head_only_;
}

bool SocketBodyWriter::write(std::string_view data) {
  if (!started_ || failed_ || head_only_) return false;
  pending_.append(data);
  return pending_.size() < kChunkBytes || flush_chunk();
}

bool SocketBodyWriter::flush_chunk() {
  if (pending_.empty()) return true;
  const bool sent = chunked_ ? send_all(hex_size(pending_.size()) + "\r\n") && send_all(pending_) &&
                                   send_all("\r\n")
                             : send_all(pending_);
  if (sent) body_bytes_ += pending_.size();
  pending_.clear();
  return sent;
}

bool SocketBodyWriter::finish() {
  if (failed_) return false;
  if (!head_only_) {
    if (!flush_chunk()) return false;
    if (chunked_ && !send_all("0\r\n\r\n")) return false;
  }
  finished_ = true;
  return true;
}

bool SocketBodyWriter::send_all(std::string_view data) {
  const int fd = peer_->fd();
  auto deadline = Clock::now() + kStallTimeout;
  while (!data.empty() && !failed_) {
    const ssize_t written = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (written > 0) {
      data.remove_prefix(static_cast<size_t>(written));
      deadline = Clock::now() + kStallTimeout;  // the stall limit is per wait, not per answer
    } else if (written < 0 && errno == EINTR) {
      continue;
    } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      failed_ = !wait_writable(fd, deadline);
    } else {
      failed_ = true;  // the client closed or reset the connection
    }
  }
  return !failed_;
}

}  // namespace pgfolio::http
