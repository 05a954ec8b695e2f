// How a packed GEMM is cut: block sizes from the cache sizes read at load, and the
// split of the output over threads. Compiled with base flags and shared by every
// ISA's driver, so nothing here may be an inline function with vector code.
#pragma once
#include <cstdint>

namespace tg::cpu::gemm_plan {

struct CacheSizes {
  int64_t l1d, l2, l3;  // bytes: per core for L1d and L2, shared for L3
};
const CacheSizes& cache_sizes();

// MC x KC block of A (kept in L2) and KC x NC panel of B (kept in L3); one MR x KC
// micro-panel of A sits in L1 while the micro-kernel streams B's KC x NR micro-panel.
struct Blocking {
  int64_t mc, kc, nc;
};
Blocking blocking(int mr, int nr, int elem_size);

// Cuts [0, len) into `parts` pieces whose sizes are multiples of `unit`, except the
// last; piece i is [begin(i), begin(i + 1)).
struct Cut {
  int64_t len = 0, step = 0, parts = 1;
  int64_t begin(int64_t i) const { return i * step < len ? i * step : len; }
};

// The output split: every task owns a tm x tn grid cell of one matrix of the batch
// and the whole K loop, so each C element sums in the same order at any thread
// count and no two tasks ever write the same element.
struct Split {
  Cut rows, cols;
  int64_t tasks = 1;
  int threads = 1;  // 1: run the tasks inline, the work is too small to share
};
Split split(int64_t batch, int64_t m, int64_t n, int64_t k, int mr, int nr, const Blocking& b,
            bool a_transposing, bool b_transposing, int threads);

// The sizes of the blocks a loop of `len` takes when its block is at most `max`:
// equal blocks (multiples of `unit`) instead of full ones and a sliver.
int64_t balanced_block(int64_t len, int64_t max, int64_t unit);

}  // namespace tg::cpu::gemm_plan
