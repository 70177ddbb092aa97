#include "http_handler.hpp"

#include <sys/socket.h>

#include <chrono>
#include <sstream>
#include <variant>

#include "access_log.hpp"
#include "export_stream.hpp"
#include "headers.hpp"
#include "request_id.hpp"

namespace pgfolio::http {
namespace {

using Pistache::Http::Request;
using Pistache::Http::ResponseWriter;
using Clock = std::chrono::steady_clock;

// Peer data key marking a connection whose input is discarded until the client closes it.
constexpr const char* kClosingKey = "pgfolio.closing";
// Peer data key for the last bytes of the request head read so far (see head_ended).
constexpr const char* kHeadTailKey = "pgfolio.head_tail";

// Whether the blank line that ends a request head has arrived, looking at the new input
// together with the last bytes of earlier input (kept in the peer's data). Pistache 0.0.5's
// parser waits for more input when a request line has no spaces or a header line no colon,
// and after its header timeout answers a plain-text 408: knowing the head is complete lets
// such a request get its 400 problem at once.
bool head_ended(const std::shared_ptr<Pistache::Tcp::Peer>& peer, const char* buffer,
                size_t length) {
  auto tail = std::static_pointer_cast<std::string>(peer->tryGetData(kHeadTailKey));
  if (!tail) {
    tail = std::make_shared<std::string>();
    peer->putData(kHeadTailKey, tail);
  }
  std::string seen = *tail + std::string(buffer, length);
  *tail = seen.substr(seen.size() > 3 ? seen.size() - 3 : 0);
  return seen.find("\r\n\r\n") != std::string::npos || seen.find("\n\n") != std::string::npos;
}

void forget_head(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  if (auto tail = std::static_pointer_cast<std::string>(peer->tryGetData(kHeadTailKey)))
    tail->clear();
}

// Whether nothing of the next request has been read yet (see head_ended).
bool at_request_start(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto tail = std::static_pointer_cast<std::string>(peer->tryGetData(kHeadTailKey));
  return !tail || tail->empty();
}

// Pistache 0.0.5's parser keeps the input it was fed in a private buffer and has no public
// way to tell what is left in it once a request is complete; its own onInput discards that
// rest, which drops pipelined requests. Access checking does not apply to the names in an
// explicit instantiation ([temp.explicit]), which lets this file name the member; should a
// Pistache rename it, this stops compiling instead of misbehaving.
using ParserBufferMember = Pistache::ArrayStreamBuf<char> Pistache::Http::Private::ParserBase::*;
ParserBufferMember parser_buffer_member();
template <ParserBufferMember Member>
struct ParserBufferAccess {
  friend ParserBufferMember parser_buffer_member() { return Member; }
};
template struct ParserBufferAccess<&Pistache::Http::Private::ParserBase::buffer>;

// What the parser was fed beyond the request it has just completed: the start of the
// client's next requests. The parser's own read position marks the end of the request, so
// the split is exactly where its framing (Content-Length or chunks) put it.
std::string unread_input(const Pistache::Http::Private::ParserBase& parser) {
  const auto& buffer = parser.*parser_buffer_member();
  return std::string(buffer.curptr(), buffer.endptr());
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// HTTP/1.1 keeps connections open unless asked not to; HTTP/1.0 closes unless asked to keep.
bool wants_keep_alive(const Request& request) {
  auto connection = request_header(request, "Connection");
  std::string value = connection ? lowercase(*connection) : "";
  if (request.version() == Pistache::Http::Version::Http10) return value == "keep-alive";
  return value.find("close") == std::string::npos;
}

std::string path_of(const Request& request) {
  const std::string& resource = request.resource();
  return resource.substr(0, resource.find('?'));
}

// Shuts the write side once `response` is on the wire; Pistache 0.0.5 has no way to close
// a connection from a handler, and a full close with unread input would reset it.
void close_after_send(Pistache::Async::Promise<ssize_t> sent,
                      const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  std::weak_ptr<Pistache::Tcp::Peer> weak_peer = peer;
  auto shut = [weak_peer](auto&&...) {
    if (auto alive = weak_peer.lock()) ::shutdown(alive->fd(), SHUT_WR);
  };
  sent.then([shut](ssize_t) { shut(); }, [shut](std::exception_ptr) { shut(); });
}

void mark_closing(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  if (!peer->tryGetData(kClosingKey)) peer->putData(kClosingKey, std::make_shared<bool>(true));
}

struct SendOutcome {
  Pistache::Async::Promise<ssize_t> sent;
  size_t body_bytes;
};

// What an answer needs to know about the request it answers.
struct Exchange {
  std::string request_id;
  std::optional<std::string> origin;
  Pistache::Http::Version version;
  bool head;  // a HEAD request: the headers of the answer, no body
  bool keep_alive;
};

// The status line and header lines of an answer, the way Pistache's putOnWire writes them,
// without the blank line that ends the head: for the heads written here rather than by
// ResponseWriter::send.
std::string head_lines(ResponseWriter& response, const Exchange& exchange, int status) {
  const auto code = static_cast<Pistache::Http::Code>(status);
  std::ostringstream head;
  head << exchange.version << ' ' << status << ' ' << code << "\r\n";
  for (const auto& header : response.headers().list()) {
    head << header->name() << ": ";
    header->write(head);
    head << "\r\n";
  }
  return head.str();
}

// The answer to a HEAD request: what a GET would answer, Content-Length included, without the
// body. Pistache 0.0.5's ResponseWriter always writes Content-Length as the size of the body
// it sends, so the head is written here and queued on the same transport (so it keeps its
// place among pipelined answers).
Pistache::Async::Promise<ssize_t> send_head_only(ResponseWriter& response, const Exchange& exchange,
                                                 int status, size_t content_length) {
  const std::string text = head_lines(response, exchange, status) +
                           "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
  // What ResponseWriter::send does too: the request is answered and the connection idle,
  // which keeps Pistache from answering it with a 408 of its own after its header timeout.
  response.peer()->setIdle(true);
  return response.peer()->send(Pistache::RawBuffer(text, text.size()));
}

// The headers every answer carries (X-Request-Id, CORS, Connection) and `reply`'s own.
void apply_headers(ResponseWriter& response, const Reply& reply, const Exchange& exchange,
                   const CorsPolicy& cors) {
  set_header(response, "X-Request-Id", exchange.request_id);
  set_header(response, "Connection", exchange.keep_alive ? "keep-alive" : "close");
  if (!reply.is_preflight)
    for (const auto& [name, value] : cors.response_headers(exchange.origin))
      set_header(response, name, value);
  for (const auto& [name, value] : reply.headers) set_header(response, name, value);
  if (!reply.content_type.empty()) set_header(response, "Content-Type", reply.content_type);
}

// Writes `reply` with the headers every answer carries.
SendOutcome send_reply(ResponseWriter& response, const Reply& reply, const Exchange& exchange,
                       const CorsPolicy& cors) {
  apply_headers(response, reply, exchange, cors);
  if (exchange.head)
    return {send_head_only(response, exchange, reply.status, reply.body.size()), 0};
  auto sent = response.send(static_cast<Pistache::Http::Code>(reply.status), reply.body);
  return {std::move(sent), reply.body.size()};
}

void record(ServerContext& context, const std::string& request_id, const std::string& method,
            const std::string& path, const Reply& reply, size_t bytes, Clock::time_point start) {
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  context.metrics.observe_request(reply.route_label, method, reply.status, seconds);
  write_access_log(
      {request_id, method, path, reply.route_label, reply.status, seconds * 1000.0, bytes});
}

// The limits of streamed answers and the gate that admits them: one of each for the process,
// like the ServerContext (main.cpp makes one HttpHandler, which Pistache copies for each
// reactor thread). Its limits come from the configuration (PGFOLIO_EXPORT_*).
struct StreamControl {
  explicit StreamControl(const StreamLimits& limits_in)
      : limits(limits_in), gate(limits_in.max_concurrent) {}
  const StreamLimits limits;
  StreamGate gate;
};

StreamControl& stream_control(const Config& config) {
  static StreamControl control(config.stream);
  return control;
}

// A streamed answer can only show that it was cut short through chunked coding, which
// HTTP/1.0 does not have: its body would end where the connection does, on a row boundary,
// and look complete. So it is refused, before anything runs.
Problem streamed_needs_http_1_1() {
  return make_problem(ErrorCode::VALIDATION_ERROR,
                      "This answer is streamed with chunked transfer coding, which HTTP/1.0 "
                      "does not have (a cut-short body would look complete); send the request "
                      "with HTTP/1.1.",
                      {{"protocol", "HTTP/1.0"}, {"required", "HTTP/1.1"}});
}

// Writes a streamed answer (export_stream.hpp) and returns its body bytes; nullopt when it
// was refused or failed before its head, `reply` then being the problem to answer as usual.
// Once the head is out a failure can only cut the answer short: no last chunk, and the
// connection closes.
std::optional<size_t> send_streamed(ServerContext& context, Pistache::Tcp::Transport* transport,
                                    ResponseWriter& response, Reply& reply,
                                    const Exchange& exchange) {
  auto answer_problem = [&](const Problem& problem) {
    Reply answer = problem_reply(problem);
    // The request got here with a token, so a refusal of its session is about that token.
    if (answer.status == 401)
      answer.headers.emplace_back("WWW-Authenticate",
                                  "Bearer realm=\"pgfolio\", error=\"invalid_token\"");
    answer.route_label = reply.route_label;
    reply = std::move(answer);
    return std::nullopt;
  };
  StreamControl& control = stream_control(context.config);
  auto admitted = control.gate.enter(reply.stream_user);
  if (auto* refused = std::get_if<Problem>(&admitted)) return answer_problem(*refused);
  const StreamGate::Pass pass = std::move(std::get<StreamGate::Pass>(admitted));

  auto peer = response.peer();
  SocketBodyWriter writer(
      transport, peer,
      [&](const std::string& content_type, const HeaderList& headers) {
        Reply head;
        head.content_type = content_type;
        head.headers = headers;
        apply_headers(response, head, exchange, context.cors);
        return head_lines(response, exchange, 200);
      },
      exchange.head, control.limits);
  std::optional<Problem> problem;
  try {
    problem = reply.stream(writer);
  } catch (const std::exception& error) {
    log_error(exchange.request_id, std::string("streamed answer failed: ") + error.what());
    problem = make_problem(ErrorCode::INTERNAL_ERROR, internal_detail(exchange.request_id));
  }
  if (!writer.started())
    return answer_problem(
        problem ? *problem
                : make_problem(ErrorCode::INTERNAL_ERROR, internal_detail(exchange.request_id)));
  const bool complete = !problem && writer.finish();
  if (!complete)
    log_error(exchange.request_id,
              "streamed answer cut short after " + std::to_string(writer.body_bytes()) +
                  " body bytes" +
                  (writer.cut_reason().empty() ? std::string() : ": " + writer.cut_reason()));
  if (!complete || !writer.reusable() || !exchange.keep_alive) {
    mark_closing(peer);
    ::shutdown(peer->fd(), SHUT_WR);
  }
  // As send_head_only: this answer did not go through ResponseWriter::send either.
  peer->setIdle(true);
  return writer.body_bytes();
}

// The peer's IP address. Pistache 0.0.5's Request::address() is not filled in (it reads
// 0.0.0.0); the connection's peer is.
std::string client_address(ResponseWriter& response) {
  auto peer = response.peer();
  return peer ? peer->address().host() : "";
}

}  // namespace

HttpHandler::HttpHandler(std::shared_ptr<ServerContext> context) : context_(std::move(context)) {
  setMaxRequestSize(context_->config.max_body_bytes + kHeaderAllowanceBytes);
  stream_control(context_->config);  // a bad PGFOLIO_EXPORT_* value stops the start here
}

void HttpHandler::onInput(const char* buffer, size_t length,
                          const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  if (peer->tryGetData(kClosingKey)) return;  // answered already; drain until the client goes
  // A client may send its next requests without waiting for the answers (pipelining), so
  // one read can hold several: each is answered in turn, in order.
  std::optional<std::string> pipelined = consume(buffer, length, peer);
  while (pipelined) {
    const std::string input = std::move(*pipelined);
    pipelined = consume(input.data(), input.size(), peer);
  }
}

std::optional<std::string> HttpHandler::consume(const char* buffer, size_t length,
                                                const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  namespace Private = Pistache::Http::Private;
  auto parser = getParser(peer);
  Request& request = parser->request;
  const size_t max_body = context_->config.max_body_bytes;
  auto too_large = [&](const std::string& detail) {
    return make_problem(ErrorCode::PAYLOAD_TOO_LARGE, detail, {{"maxBodyBytes", max_body}});
  };
  auto request_line_read = [&] { return parser->step()->id() != Private::RequestLineStep::Id; };
  // Empty lines before a request line are ignored (RFC 9112 section 2.2). Pistache leaves the
  // CRLF that closes a chunked body unread, so one often comes before a pipelined request.
  if (at_request_start(peer)) {
    while (length > 0 && (*buffer == '\r' || *buffer == '\n')) ++buffer, --length;
    if (length == 0) return std::nullopt;
  }

  try {
    if (!parser->feed(buffer, length)) {
      reject_and_close(peer, request, request_line_read(),
                       too_large("The request is larger than the server accepts (body " +
                                 std::to_string(max_body) + " bytes, headers " +
                                 std::to_string(kHeaderAllowanceBytes) + " bytes)."));
      return std::nullopt;
    }
    const bool ended = head_ended(peer, buffer, length);
    auto state = parser->parse();
    const auto step = parser->step()->id();
    if (state != Private::State::Done && ended &&
        (step == Private::RequestLineStep::Id || step == Private::HeadersStep::Id)) {
      reject_and_close(peer, request, request_line_read(),
                       make_problem(ErrorCode::VALIDATION_ERROR,
                                    "Malformed HTTP request: the request line or a header line "
                                    "is not well formed."));
      return std::nullopt;
    }
    if (state != Private::State::Done) {
      // Headers complete and the body still coming: refuse an announced oversized body now
      // rather than buffering it first.
      if (parser->step()->id() == Private::BodyStep::Id) {
        auto declared = request.headers().tryGet<Pistache::Http::Header::ContentLength>();
        if (declared && declared->value() > max_body)
          reject_and_close(
              peer, request, true,
              too_large("The body is " + std::to_string(declared->value()) + " bytes; at most " +
                        std::to_string(max_body) + " are accepted."));
      }
      return std::nullopt;
    }
    if (request.body().size() > max_body) {  // e.g. chunked, with no Content-Length
      reject_and_close(
          peer, request, true,
          too_large("The body is larger than " + std::to_string(max_body) + " bytes."));
      return std::nullopt;
    }

    std::string rest = unread_input(*parser);
    ResponseWriter response(request.version(), transport(), this, peer);
    peer->setIdle(false);  // a request is being served: Pistache's timeouts apply
    onRequest(request, std::move(response));
    parser->reset();
    forget_head(peer);
    // After a Connection: close answer nothing more is read; otherwise the rest is the start
    // of the next request (complete or not: the parser keeps what it is fed).
    if (rest.empty() || peer->tryGetData(kClosingKey)) return std::nullopt;
    return rest;
  } catch (const Pistache::Http::HttpError& error) {
    // Pistache's parser throws HttpError for a malformed request line or header; its
    // reason says what was wrong ("Unknown HTTP request method").
    reject_and_close(peer, request, request_line_read(),
                     make_problem(ErrorCode::VALIDATION_ERROR,
                                  std::string("Malformed HTTP request: ") + error.what()));
  } catch (const std::exception&) {
    // Other exceptions come from malformed values (Content-Length: -5 makes it try to
    // reserve 2^64 bytes); their text is about the library, not the request.
    reject_and_close(peer, request, request_line_read(),
                     make_problem(ErrorCode::VALIDATION_ERROR,
                                  "Malformed HTTP request: a header value is not valid."));
  }
  return std::nullopt;
}

void HttpHandler::reject_and_close(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                                   const Request& partial_request, bool request_line_read,
                                   const Problem& problem) {
  const auto start = Clock::now();
  // The request id and Origin are only known if the headers were read.
  const std::string request_id = choose_request_id(request_header(partial_request, "X-Request-Id"));
  Reply reply = problem_reply(problem);
  reply.route_label = "none";
  mark_closing(peer);
  ResponseWriter response(partial_request.version(), transport(), this, peer);
  const bool head = request_line_read && partial_request.method() == Pistache::Http::Method::Head;
  SendOutcome outcome = send_reply(response, reply,
                                   {request_id, request_header(partial_request, "Origin"),
                                    partial_request.version(), head, false},
                                   context_->cors);
  close_after_send(std::move(outcome.sent), peer);
  record(*context_, request_id, request_line_read ? method_name(partial_request.method()) : "-",
         request_line_read ? path_of(partial_request) : "-", reply, outcome.body_bytes, start);
}

void HttpHandler::onRequest(const Request& request, ResponseWriter response) {
  const auto start = Clock::now();
  // Counted so that shutdown can wait for requests in progress.
  struct InFlight {
    std::atomic<int>& count;
    explicit InFlight(std::atomic<int>& c) : count(c) { ++count; }
    ~InFlight() { --count; }
  } in_flight(context_->in_flight);
  const std::string request_id = choose_request_id(request_header(request, "X-Request-Id"));
  const std::string path = path_of(request);
  const auto origin = request_header(request, "Origin");

  Reply reply;
  try {
    IncomingRequest incoming{request.method(),
                             path,
                             &request.query(),
                             &request.body(),
                             request_header(request, "Content-Type"),
                             origin,
                             request_header(request, "Access-Control-Request-Method"),
                             request_id,
                             request_header(request, "Authorization"),
                             client_address(response),
                             request_header(request, "User-Agent")};
    reply = Dispatcher(*context_).dispatch(incoming);
  } catch (const std::exception& error) {
    log_error(request_id, std::string("unhandled error: ") + error.what());
    reply = problem_reply(make_problem(ErrorCode::INTERNAL_ERROR, internal_detail(request_id)));
  }

  if (reply.stream && request.version() == Pistache::Http::Version::Http10) {
    std::string label = std::move(reply.route_label);
    reply = problem_reply(streamed_needs_http_1_1());
    reply.route_label = std::move(label);
  }
  // While shutting down, tell keep-alive clients to reconnect (to the next instance).
  bool keep_alive = wants_keep_alive(request) && !context_->draining.load();
  auto peer = response.peer();
  const bool head = request.method() == Pistache::Http::Method::Head;
  const Exchange exchange{request_id, origin, request.version(), head, keep_alive};
  if (reply.stream) {
    if (auto bytes = send_streamed(*context_, transport(), response, reply, exchange)) {
      record(*context_, request_id, method_name(request.method()), path, reply, *bytes, start);
      return;
    }
  }
  SendOutcome outcome = send_reply(response, reply, exchange, context_->cors);
  if (!keep_alive) {
    mark_closing(peer);
    close_after_send(std::move(outcome.sent), peer);
  }
  record(*context_, request_id, method_name(request.method()), path, reply, outcome.body_bytes,
         start);
}

}  // namespace pgfolio::http
