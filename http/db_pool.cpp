#include "db_pool.hpp"

namespace pgfolio::http {

ConnectionPool::Lease::~Lease() {
  if (!slot_) return;  // moved from
  bool keep = !discarded_ && slot_->connection && slot_->connection->is_open();
  pool_->give_back(std::move(slot_), keep);
}

void ConnectionPool::Lease::prepare_once(const std::string& name, const std::string& sql) {
  if (slot_->prepared.count(name)) return;
  slot_->connection->prepare(name, sql);
  slot_->prepared.insert(name);
}

ConnectionPool::ConnectionPool(std::string dsn, size_t size,
                               std::chrono::milliseconds acquire_timeout)
    : dsn_(std::move(dsn)), size_(size), acquire_timeout_(acquire_timeout) {}

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  bool ready = returned_.wait_for(lock, acquire_timeout_,
                                  [this] { return !idle_.empty() || open_ < size_; });
  if (!ready) throw PoolExhausted("no database connection became free in time");

  if (!idle_.empty()) {
    auto slot = std::move(idle_.back());
    idle_.pop_back();
    ++leased_;
    return Lease(this, std::move(slot), true);
  }

  // Reserve the place, then connect without holding the lock: connecting can take as long
  // as libpq's connect_timeout and must not stall other requests.
  ++open_;
  ++leased_;
  lock.unlock();
  auto slot = std::make_unique<Slot>();
  try {
    slot->connection = std::make_unique<pqxx::connection>(dsn_);
  } catch (...) {
    lock.lock();
    --open_;
    --leased_;
    lock.unlock();
    returned_.notify_one();
    throw;
  }
  return Lease(this, std::move(slot), false);
}

void ConnectionPool::give_back(std::unique_ptr<Slot> slot, bool keep) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --leased_;
    if (keep) {
      idle_.push_back(std::move(slot));
    } else {
      --open_;
    }
  }
  // Closing a discarded connection happens here, outside the lock.
  slot.reset();
  returned_.notify_one();
}

PoolStats ConnectionPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {size_, open_, leased_};
}

void ConnectionPool::close_idle() {
  std::vector<std::unique_ptr<Slot>> closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing.swap(idle_);
    open_ -= closing.size();
  }
  closing.clear();
}

}  // namespace pgfolio::http
