// Asynchronous work in the CUDA emulator, done as late as the PTX ISA allows so
// that a kernel which reads before it waits sees stale data and fails its test:
//   - a thread's cp.async copies and wgmma products queue per thread, in commit
//     groups, and run when a wait_group lets fewer groups stay in flight (or when
//     the thread exits);
//   - TMA copies go to the block's copy engine, which delivers them (and counts
//     their bytes into their mbarriers) only once every thread of the block waits.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

namespace tg_emu {

class AsyncQueue {
 public:
  void issue(std::function<void()> op) { ops_.push_back(std::move(op)); }
  void commit() { commits_.push_back(ops_.size()); }
  // Runs the groups older than the newest `pending` committed ones.
  void wait(int pending) {
    if (int(commits_.size()) <= pending) return;
    const size_t upto = commits_[commits_.size() - 1 - pending];
    for (size_t i = 0; i < upto; ++i) ops_[i]();
    ops_.erase(ops_.begin(), ops_.begin() + upto);
    commits_.erase(commits_.begin(), commits_.end() - pending);
    for (size_t& c : commits_) c -= upto;
  }
  void drain() {
    for (auto& op : ops_) op();
    clear();
  }
  void clear() {
    ops_.clear();
    commits_.clear();
  }

 private:
  std::vector<std::function<void()>> ops_;
  std::vector<size_t> commits_;  // op count at each commit
};

struct AsyncQueues {
  AsyncQueue cp_async, wgmma;
  void drain() {
    cp_async.drain();
    wgmma.drain();
  }
  void clear() {
    cp_async.clear();
    wgmma.clear();
  }
};
AsyncQueues& async_queues();  // the running thread's

// The block's copy engine: TMA copies wait here until every thread waits.
void copy_engine_issue(std::function<void()> op);
bool copy_engine_flush();  // true if it delivered anything

// Changes with every block run (per-block emulator state resets on it).
unsigned block_serial();

// Driver functions the runtime hands out (cuTensorMapEncodeTiled), or null.
void* driver_entry_point(const char* symbol);
size_t max_smem_optin();

}  // namespace tg_emu
