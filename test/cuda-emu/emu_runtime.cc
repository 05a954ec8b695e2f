// The CUDA emulator's host side: the fiber scheduler that runs a grid block by block
// (emu.h says how), and the CUDA runtime functions the backend calls, over host
// memory. The emulated device is configured by the environment:
//   TG_EMU_SMS      streaming multiprocessors reported (default 3: grid-stride loops
//                   then wrap several times even on small tensors)
//   TG_EMU_MEMORY   bytes of device memory (default 1 GiB), so that out-of-memory
//                   paths can be driven
// Kernels whose threads deadlock, trap, or misuse a collective fail the launch with
// cudaErrorLaunchFailure, and the reason is printed to stderr.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emu.h"
#include "emu_async.h"
#include "emu_context.h"

namespace tg_emu {

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr int kMaxThreads = 1024;
constexpr size_t kDefaultSmem = 48 * 1024;
constexpr size_t kMaxSmemOptin = 227 * 1024;  // sm_90

struct Fiber {
  Context ctx;
  char* stack = nullptr;
  Thread thread;
  AsyncQueues async;
  bool done = false;
};

struct Block {
  dim3 grid, block;
  uint3 idx;
  int threads = 0, live = 0;
  Body body = nullptr;
  void* closure = nullptr;
  // block barrier
  unsigned bar_generation = 0;
  int bar_arrived = 0, bar_count = 0, bar_result = 0;
  // warp collectives: two phases (deposit, leave), each a counted barrier
  struct Warp {
    unsigned generation = 0;
    int arrived = 0;
    alignas(16) unsigned char slots[32][64];
  } warps[kMaxThreads / 32];
  // the shared window: offset 0 is 1024-aligned, as the hardware's
  std::unique_ptr<char, decltype(&std::free)> window{nullptr, &std::free};
  size_t window_bytes = 0;
  char* smem = nullptr;
  std::string error;
};

std::vector<Fiber>& fibers() {
  static std::vector<Fiber> f(kMaxThreads);
  return f;
}
Context g_scheduler;
Block* g_block = nullptr;
Fiber* g_current = nullptr;
std::mutex g_launch_mutex;
thread_local cudaError_t g_last_error = cudaSuccess;
unsigned g_block_serial = 0;

void set_error(cudaError_t e) {
  if (g_last_error == cudaSuccess) g_last_error = e;
}

char* fiber_stack() {
  // a guard page below each stack turns an overflow into a fault, not corruption
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "cuda emulator: cannot map fiber stacks\n");
    std::abort();
  }
  mprotect(p, page, PROT_NONE);
  return static_cast<char*>(p) + page;
}

void fiber_entry() {
  Fiber* f = g_current;
  g_block->body(g_block->closure);
  f->async.drain();
  f->done = true;
  f->ctx.switch_to(g_scheduler);
}

int env_int(const char* name, long long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? int(std::atoll(v)) : int(fallback);
}
size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? size_t(std::atoll(v)) : fallback;
}

// Releases a block barrier or warp phase whose live threads have all arrived (threads
// that exited count as arrived, as on the hardware).
void release_barrier(Block& b) {
  if (b.bar_arrived > 0 && b.bar_arrived >= b.live) {
    b.bar_result = b.bar_count;
    b.bar_arrived = b.bar_count = 0;
    ++b.bar_generation;
  }
}
int warp_live(const Block& b, int w) {
  int n = 0;
  for (int l = 0; l < 32 && w * 32 + l < b.threads; ++l) n += !fibers()[w * 32 + l].done;
  return n;
}
void release_warp(Block& b, int w) {
  Block::Warp& wp = b.warps[w];
  if (wp.arrived > 0 && wp.arrived >= warp_live(b, w)) {
    wp.arrived = 0;
    ++wp.generation;
  }
}

void warp_phase() {
  Block& b = *g_block;
  const int w = self().linear / 32;
  if (b.threads % 32 != 0 && (w + 1) * 32 > b.threads) fail("warp collective in a partial warp");
  Block::Warp& wp = b.warps[w];
  const unsigned gen = wp.generation;
  ++wp.arrived;
  release_warp(b, w);
  wait_while_equal(&wp.generation, gen);
}

std::vector<std::function<void()>>& copy_engine() {
  static std::vector<std::function<void()>> ops;
  return ops;
}

void run_block(Block& b) {
  std::vector<Fiber>& fs = fibers();
  for (int i = 0; i < b.threads; ++i) {
    Fiber& f = fs[i];
    if (!f.stack) f.stack = fiber_stack();
    f.done = false;
    f.async.clear();
    f.thread = Thread{};
    f.thread.linear = i;
    f.thread.thread_idx = uint3{unsigned(i % b.block.x), unsigned(i / b.block.x % b.block.y),
                                unsigned(i / (b.block.x * b.block.y))};
    f.ctx.start(f.stack, kStackBytes, fiber_entry);
  }
  b.live = b.threads;
  b.bar_arrived = b.bar_count = 0;
  for (int w = 0; w < (b.threads + 31) / 32; ++w) b.warps[w].arrived = 0;
  while (b.live > 0 && b.error.empty()) {
    bool resumed = false;
    for (int i = 0; i < b.threads && b.error.empty(); ++i) {
      Fiber& f = fs[i];
      if (f.done) continue;
      if (f.thread.watch && *f.thread.watch == f.thread.watch_value) continue;
      f.thread.watch = nullptr;
      resumed = true;
      g_current = &f;
      g_scheduler.switch_to(f.ctx);
      g_current = nullptr;
      if (f.done) {
        --b.live;
        release_barrier(b);
        release_warp(b, i / 32);
      }
    }
    if (!resumed) {
      // every thread waits: the copy engine delivers what it holds, else a deadlock
      if (copy_engine_flush()) continue;
      std::string who;
      for (int i = 0; i < b.threads; ++i)
        if (!fs[i].done) who += (who.empty() ? "" : ",") + std::to_string(i);
      b.error = "deadlock: threads " + (who.size() > 200 ? who.substr(0, 200) + "..." : who) +
                " wait and nothing can wake them";
    }
  }
  copy_engine_flush();
}

}  // namespace

Thread& self() {
  if (!g_current) {
    std::fprintf(stderr, "cuda emulator: device code called outside a kernel\n");
    std::abort();
  }
  return g_current->thread;
}
AsyncQueues& async_queues() { return g_current->async; }
const dim3& block_dim() { return g_block->block; }
const dim3& grid_dim() { return g_block->grid; }
const uint3& block_idx() { return g_block->idx; }

void wait_while_equal(const volatile unsigned* watch, unsigned value) {
  while (*watch == value) {
    Fiber* f = g_current;
    f->thread.watch = watch;
    f->thread.watch_value = value;
    f->ctx.switch_to(g_scheduler);
  }
}

void fail(const char* what) {
  Block& b = *g_block;
  if (b.error.empty()) b.error = std::string(what) + " (thread " + std::to_string(self().linear) + ")";
  Fiber* f = g_current;
  for (;;) f->ctx.switch_to(g_scheduler);  // never resumed: the launch stops
}

int barrier_count(int predicate) {
  Block& b = *g_block;
  const unsigned gen = b.bar_generation;
  b.bar_count += predicate;
  ++b.bar_arrived;
  release_barrier(b);
  wait_while_equal(&b.bar_generation, gen);
  return b.bar_result;
}

void* warp_deposit(const void* mine, size_t bytes) {
  if (bytes > sizeof(Block::Warp::slots[0])) fail("warp collective value too large for the emulator");
  Block::Warp& wp = g_block->warps[self().linear / 32];
  std::memcpy(wp.slots[lane()], mine, bytes);
  warp_phase();
  // slots of a lane are `bytes` apart for the reader: repack in place
  static thread_local unsigned char packed[32 * 64];
  for (int l = 0; l < 32; ++l) std::memcpy(packed + l * bytes, wp.slots[l], bytes);
  return packed;
}
void warp_leave() { warp_phase(); }

char* dynamic_shared() { return g_block->smem; }
uint32_t shared_offset(const void* p) {
  const char* c = static_cast<const char*>(p);
  Block& b = *g_block;
  if (c < b.window.get() || c > b.window.get() + b.window_bytes) {
    const long long at = static_cast<long long>(c - b.window.get());
    fail(("shared-memory address of something outside dynamic shared memory (" + std::to_string(at) +
          " bytes from the window's start; the window has " + std::to_string(b.window_bytes) + ")")
             .c_str());
  }
  return uint32_t(c - b.window.get());
}
void* shared_pointer(uint32_t offset) {
  Block& b = *g_block;
  if (offset >= b.window_bytes) fail("shared-memory address past the block's shared memory");
  return b.window.get() + offset;
}

std::map<const void*, size_t>& smem_optin() {
  static std::map<const void*, size_t> m;
  return m;
}

void run_grid(const void* kernel, dim3 grid, dim3 block, size_t smem, Body body, void* closure) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  auto it = smem_optin().find(kernel);
  const size_t smem_limit = it != smem_optin().end() ? it->second : kDefaultSmem;
  if (threads == 0 || threads > kMaxThreads || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || block.z > 64) {
    std::fprintf(stderr, "cuda emulator: invalid launch configuration: grid (%u,%u,%u), block (%u,%u,%u)\n", grid.x,
                 grid.y, grid.z, block.x, block.y, block.z);
    return set_error(cudaErrorInvalidConfiguration);
  }
  if (smem > smem_limit) {
    std::fprintf(stderr, "cuda emulator: %zu bytes of dynamic shared memory asked, %zu allowed for this kernel\n",
                 smem, smem_limit);
    return set_error(cudaErrorInvalidValue);
  }
  Block* b = new Block;
  b->grid = grid;
  b->block = block;
  b->threads = int(threads);
  b->body = body;
  b->closure = closure;
  // dynamic shared memory starts as after some static shared memory: 128-byte
  // aligned, as the kernels' declarations ask, and no more, so code that needs
  // 1024-byte alignment has work to do
  const size_t lead = 384;
  b->window_bytes = lead + smem;
  b->window.reset(static_cast<char*>(std::aligned_alloc(1024, (b->window_bytes + 1023) / 1024 * 1024)));
  std::memset(b->window.get(), 0x5a, b->window_bytes);
  b->smem = b->window.get() + lead;
  g_block = b;
  for (unsigned z = 0; z < grid.z && b->error.empty(); ++z)
    for (unsigned y = 0; y < grid.y && b->error.empty(); ++y)
      for (unsigned x = 0; x < grid.x && b->error.empty(); ++x) {
        b->idx = uint3{x, y, z};
        ++g_block_serial;
        run_block(*b);
      }
  if (!b->error.empty()) {
    std::fprintf(stderr, "cuda emulator: kernel failed in block (%u,%u,%u): %s\n", b->idx.x, b->idx.y, b->idx.z,
                 b->error.c_str());
    set_error(cudaErrorLaunchFailure);
  }
  g_block = nullptr;
  delete b;
}

size_t max_smem_optin() { return kMaxSmemOptin; }
unsigned block_serial() { return g_block_serial; }

void copy_engine_issue(std::function<void()> op) { copy_engine().push_back(std::move(op)); }
bool copy_engine_flush() {
  std::vector<std::function<void()>> ops;
  ops.swap(copy_engine());
  for (auto& op : ops) op();
  return !ops.empty();
}

}  // namespace tg_emu

// ---- the runtime API -------------------------------------------------------------------

namespace {

struct Memory {
  std::mutex mu;
  std::map<void*, size_t> blocks;
  size_t used = 0;
};
Memory& memory() {
  static Memory m;
  return m;
}
size_t total_memory() {
  static const size_t total = tg_emu::env_size("TG_EMU_MEMORY", size_t(1) << 30);
  return total;
}

}  // namespace

extern "C" {

cudaError_t cudaGetLastError() {
  const cudaError_t e = tg_emu::g_last_error;
  tg_emu::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return tg_emu::g_last_error; }

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchFailure: return "unspecified launch failure (emulated kernel failed, see stderr)";
    default: return "emulated CUDA error";
  }
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "tensorgrad CUDA emulator (sm_90a, as an H100, on the host)");
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = tg_emu::env_int("TG_EMU_SMS", 3);
  p->totalGlobalMem = total_memory();
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = tg_emu::max_smem_optin();
  p->maxThreadsPerBlock = 1024;
  p->warpSize = 32;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  *total_bytes = total_memory();
  *free_bytes = total_memory() - m.used;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  *p = nullptr;
  const size_t size = (bytes + 255) / 256 * 256;
  if (size > total_memory() - m.used) {
    tg_emu::set_error(cudaErrorMemoryAllocation);
    return cudaErrorMemoryAllocation;
  }
  void* q = std::aligned_alloc(256, size == 0 ? 256 : size);
  if (!q) return cudaErrorMemoryAllocation;
  std::memset(q, 0xa5, size);  // fresh device memory is not zeros
  m.blocks[q] = size;
  m.used += size;
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  auto it = m.blocks.find(p);
  if (it == m.blocks.end()) return cudaErrorInvalidValue;
  m.used -= it->second;
  m.blocks.erase(it);
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) {
  static int token;
  *s = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}
// Kernels run when launched, so a stream is always drained.
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* fn, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > tg_emu::max_smem_optin()) return cudaErrorInvalidValue;
    std::lock_guard<std::mutex> lock(tg_emu::g_launch_mutex);
    tg_emu::smem_optin()[fn] = size_t(value);
  }
  return cudaSuccess;
}

cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** fn, unsigned int, unsigned long long,
                                             cudaDriverEntryPointQueryResult* status) {
  *fn = tg_emu::driver_entry_point(symbol);
  if (status) *status = *fn ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}

}  // extern "C"
