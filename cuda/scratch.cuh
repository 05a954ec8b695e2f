// Temporary device memory that lives for one launcher call (reduce.cu's partial
// results, pool.cu's float accumulators for half gradients). It comes from the
// caching allocator and goes back when the launcher returns, even when a launch
// check throws. Freeing right after queueing the kernels is safe: the allocator is
// stream-ordered, so the block's next user runs after the kernels queued here.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common.cuh"

namespace tg::cuda {

template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t count)
      : bytes_(static_cast<size_t>(count) * sizeof(T)), data_(static_cast<T*>(alloc(bytes_))) {}
  ~Scratch() { tg::cuda::free(data_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  T* get() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

}  // namespace tg::cuda
