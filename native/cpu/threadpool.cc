#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tg::cpu {

namespace {

thread_local bool t_in_pool_task = false;

class Pool {
 public:
  Pool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("TENSORGRAD_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v > 0) n = v;
    }
    resize(std::max(1, n));
  }

  int size() const { return size_; }

  void resize(int n) {
    n = std::clamp(n, 1, 256);
    stop_workers();
    size_ = n;
    stopping_ = false;
    for (int i = 0; i < n - 1; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& task) {
    std::lock_guard<std::mutex> run_lock(run_mu_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_ = &task;
      total_ = chunks;
      next_.store(0);
      done_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    int64_t finished = work(task, chunks);
    std::unique_lock<std::mutex> lock(mu_);
    done_ += finished;
    // Waiting for active_ == 0 too means no worker still holds this task when it
    // goes out of scope, so a late worker can never run a stale task.
    done_cv_.wait(lock, [&] { return done_ == total_ && active_ == 0; });
    task_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  ~Pool() { stop_workers(); }

 private:
  int64_t work(const std::function<void(int64_t)>& task, int64_t total) {
    int64_t finished = 0;
    t_in_pool_task = true;
    for (;;) {
      int64_t i = next_.fetch_add(1);
      if (i >= total) break;
      try {
        task(i);
      } catch (...) {
        // keep the first failure for the caller; never let it reach std::terminate
        std::lock_guard<std::mutex> lock(error_mu_);
        if (!error_) error_ = std::current_exception();
      }
      ++finished;
    }
    t_in_pool_task = false;
    return finished;
  }

  void worker_loop() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (task_ == nullptr) continue;
      const std::function<void(int64_t)>* task = task_;
      int64_t total = total_;
      ++active_;
      lock.unlock();
      int64_t finished = work(*task, total);
      lock.lock();
      done_ += finished;
      --active_;
      if (done_ == total_ && active_ == 0) done_cv_.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mu_, mu_, error_mu_;
  std::exception_ptr error_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* task_ = nullptr;
  std::atomic<int64_t> next_{0};
  int64_t total_ = 0, done_ = 0, active_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: joining threads at exit can deadlock
  return *p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = pool().size();
  if (threads == 1 || n <= grain || t_in_pool_task) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balances uneven rows without much scheduling cost.
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threads) * 4);
  int64_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  pool().run(chunks, [&](int64_t c) {
    int64_t b = c * per;
    fn(b, std::min(n, b + per));
  });
}

void set_num_threads(int n) { pool().resize(n); }
int get_num_threads() { return pool().size(); }

}  // namespace tg::cpu
