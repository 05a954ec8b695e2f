#include "gemm_scratch.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tg::cpu {

namespace {

class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  void* get(size_t bytes) {
    if (bytes <= size_) return p_;
    // grow by half again so a slowly rising size does not reallocate each call
    size_t want = std::max(bytes, size_ + size_ / 2);
    // the packed B panel spans megabytes: align those to a huge page so the kernel
    // can back them with 2 MiB pages and the panel walk stays off the TLB
    const size_t align = want >= kHuge ? kHuge : kAlign;
    want = (want + align - 1) / align * align;
    void* q = std::aligned_alloc(align, want);
    if (q == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHuge) madvise(q, want, MADV_HUGEPAGE);
#endif
    std::free(p_);
    p_ = q;
    size_ = want;
    return p_;
  }

 private:
  static constexpr size_t kAlign = 64, kHuge = size_t(2) << 20;
  void* p_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

void* gemm_scratch(size_t bytes) {
  thread_local Scratch s;
  return s.get(bytes);
}

}  // namespace tg::cpu
