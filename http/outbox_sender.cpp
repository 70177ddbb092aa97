#include "outbox_sender.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "access_log.hpp"
#include "problem.hpp"

namespace pgfolio::http {
namespace {

// Messages claimed per round; a full batch means more may be waiting, so the next round
// starts at once.
constexpr int kBatchSize = 20;
// Between connection attempts while the database is unreachable.
constexpr std::chrono::milliseconds kReconnectDelay{2000};

}  // namespace

FileSender::FileSender(std::string path) : path_(std::move(path)) {}

void FileSender::send(const OutboxMessage& message) {
  nlohmann::json line = {{"id", message.id},
                         {"channel", message.channel},
                         {"recipient", message.recipient},
                         {"template", message.template_name},
                         {"payload", nlohmann::json::parse(message.payload_json, nullptr, false)}};
  const std::string text = dump_json(line) + "\n";
  // One write of the whole line with O_APPEND, so a reader never sees half a message; owner
  // only, since the lines hold live codes.
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot open the outbox file: ") + std::strerror(errno));
  ssize_t written = ::write(fd, text.data(), text.size());
  int saved_errno = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(std::string("cannot write the outbox file: ") +
                             (written < 0 ? std::strerror(saved_errno) : "short write"));
}

OutboxWorker::OutboxWorker(std::string database_url, std::unique_ptr<MessageSender> sender,
                           std::chrono::milliseconds poll_interval)
    : database_url_(std::move(database_url)),
      sender_(std::move(sender)),
      poll_interval_(poll_interval) {
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("outbox sender: pipe: ") + std::strerror(errno));
}

OutboxWorker::~OutboxWorker() {
  stop();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void OutboxWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void OutboxWorker::stop() {
  if (!stopping_.exchange(true)) {
    const char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(stop_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::wait(std::chrono::milliseconds duration, pqxx::connection* connection) {
  // Wakes for stop(), for a NOTIFY pgfolio_outbox (a message was queued) or after `duration`
  // (a message whose retry became due sends no notification).
  if (stopping_.load()) return;
  pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {-1, POLLIN, 0}};
  if (connection != nullptr && connection->is_open()) fds[1].fd = connection->sock();
  ::poll(fds, 2, static_cast<int>(duration.count()));
  // Consumes the notifications (and notices a dropped connection); the next claim finds the
  // messages themselves.
  if (fds[1].fd >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) connection->get_notifs();
}

void OutboxWorker::run() {
  std::unique_ptr<pqxx::connection> connection;
  bool reported_down = false;
  while (!stopping_.load()) {
    try {
      if (!connection || !connection->is_open()) {
        connection = std::make_unique<pqxx::connection>(database_url_);
        pqxx::nontransaction setup(*connection);
        setup.exec("SET statement_timeout = 10000");
        setup.exec("LISTEN pgfolio_outbox");
        if (reported_down) log_event("outbox sender: connected");
        reported_down = false;
      }
      if (deliver_batch(*connection) == kBatchSize) continue;
      wait(poll_interval_, connection.get());
    } catch (const pqxx::broken_connection& error) {
      connection.reset();
      if (!reported_down)
        log_event(std::string("outbox sender: database unreachable, retrying: ") + error.what());
      reported_down = true;
      wait(kReconnectDelay, nullptr);
    } catch (const std::exception& error) {
      // A SQL error (e.g. the role lacks a grant): logged, the connection replaced, retried.
      log_event(std::string("outbox sender: ") + error.what());
      connection.reset();
      wait(kReconnectDelay, nullptr);
    }
  }
}

int OutboxWorker::deliver_batch(pqxx::connection& connection) {
  std::vector<OutboxMessage> messages;
  {
    pqxx::work tx(connection);
    pqxx::result rows = tx.exec_params(
        "SELECT id, channel, recipient, template, payload::text FROM pgfolio.outbox_claim($1)",
        kBatchSize);
    tx.commit();
    for (const auto& row : rows)
      messages.push_back({row[0].as<long long>(), row[1].c_str(), row[2].c_str(), row[3].c_str(),
                          row[4].is_null() ? "{}" : row[4].c_str()});
  }
  // Claimed messages are delivered even while stopping: the batch is small, and a message
  // left claimed would wait for its claim to expire.
  for (const OutboxMessage& message : messages) {
    std::string failure;
    try {
      sender_->send(message);
    } catch (const std::exception& error) {
      failure = error.what();
    }
    pqxx::work tx(connection);
    if (failure.empty()) {
      tx.exec_params("SELECT pgfolio.outbox_sent($1)", message.id);
    } else {
      tx.exec_params("SELECT pgfolio.outbox_failed($1, $2)", message.id, failure);
      log_event("outbox sender: message " + std::to_string(message.id) + " (" + message.channel +
                ") failed: " + failure);
    }
    tx.commit();
  }
  return static_cast<int>(messages.size());
}

}  // namespace pgfolio::http
