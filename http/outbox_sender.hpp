// The outbox sender (docs/auth.md): a background thread with a database connection of its own
// (as pgfolio_sender, the only role that may claim outbox messages and read their payloads)
// that claims queued messages, hands each to a MessageSender and records the outcome. Once a
// message is recorded as sent, the database erases the secret its payload carried.
//
// Nothing here logs a payload or a recipient: payloads carry one-time codes and tokens.
#pragma once

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace pgfolio::http {

struct OutboxMessage {
  long long id = 0;
  std::string channel;    // sms, email, push, webhook
  std::string recipient;  // phone, email address, device token or URL
  std::string template_name;
  std::string payload_json;  // jsonb text
};

// Delivers one message; throws std::exception with a short reason (no payload) on failure,
// and the message is retried later with backoff.
class MessageSender {
 public:
  virtual ~MessageSender() = default;
  virtual void send(const OutboxMessage& message) = 0;
};

// The development sender: appends each message as one JSON line to a file (the tests read
// the codes from it). Not for production: the file holds live codes until they expire.
class FileSender : public MessageSender {
 public:
  explicit FileSender(std::string path);
  void send(const OutboxMessage& message) override;

 private:
  std::string path_;
};

class OutboxWorker {
 public:
  OutboxWorker(std::string database_url, std::unique_ptr<MessageSender> sender,
               std::chrono::milliseconds poll_interval);
  ~OutboxWorker();

  void start();
  // Finishes the message in hand, then stops the thread and closes the connection.
  void stop();

 private:
  void run();
  // Claims and delivers one batch; returns how many messages were claimed.
  int deliver_batch(pqxx::connection& connection);
  void wait(std::chrono::milliseconds duration, pqxx::connection* connection);

  const std::string database_url_;
  std::unique_ptr<MessageSender> sender_;
  const std::chrono::milliseconds poll_interval_;
  std::atomic<bool> stopping_{false};
  int stop_pipe_[2] = {-1, -1};  // stop() writes to [1]; wait() polls [0]
  std::thread thread_;
};

}  // namespace pgfolio::http
