#include "gemm_plan.h"

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#include <algorithm>

namespace tg::cpu::gemm_plan {

namespace {

int64_t sysconf_or(int name, int64_t fallback) {
  long v = sysconf(name);
  return v > 0 ? static_cast<int64_t>(v) : fallback;
}

CacheSizes read_cache_sizes() {
  CacheSizes c{32 << 10, 512 << 10, 8 << 20};
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
  c.l1d = sysconf_or(_SC_LEVEL1_DCACHE_SIZE, c.l1d);
  c.l2 = sysconf_or(_SC_LEVEL2_CACHE_SIZE, c.l2);
  c.l3 = sysconf_or(_SC_LEVEL3_CACHE_SIZE, c.l3);
#endif
  // glibc can report the L3 of all dies of a multi-die part together (384 MiB on a
  // 12-CCD EPYC), but a core only reaches its own die's slice: cap at one CCD's 32 MiB.
  c.l3 = std::min<int64_t>(c.l3, 32 << 20);
  c.l1d = std::clamp<int64_t>(c.l1d, 16 << 10, 1 << 20);
  c.l2 = std::clamp<int64_t>(c.l2, 128 << 10, 64 << 20);
  c.l3 = std::max<int64_t>(c.l3, c.l2);
  return c;
}

int64_t round_down(int64_t v, int64_t unit) { return std::max(unit, v / unit * unit); }
int64_t round_up(int64_t v, int64_t unit) { return (v + unit - 1) / unit * unit; }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Costs in units of one multiply-add of the micro-kernel (1/32 cycle at fp32 AVX-512
// peak): what it takes to pack one element by a contiguous copy or by a transpose,
// and the work a thread must get to pay for joining in: waking a pool worker and
// then the caller takes about 40 us on the 2-core VM this was tuned on, the time
// of some 6M multiply-adds.
constexpr double kPackCopy = 6, kPackTranspose = 12;
constexpr double kMinWorkPerThread = double(6 << 20);

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes c = read_cache_sizes();
  return c;
}

Blocking blocking(int mr, int nr, int elem_size) {
  const CacheSizes& c = cache_sizes();
  Blocking b;
  // KC: the KC x NR micro-panel of B fills three quarters of L1. The loop nest
  // (gemm_driver.inc) keeps one B micro-panel while every MR-row micro-panel of the
  // A block streams past it from L2, so it is B that must stay in L1; a longer KC
  // spilled it to L2 and cost a third of the speed at 1024 and up (Zen 3, AVX2).
  b.kc = std::clamp<int64_t>(round_down(c.l1d * 3 / 4 / (nr * elem_size), 8), 64, 1024);
  // MC: the MC x KC block of A takes half of L2; the rest holds the B micro-panel
  // on its way to L1 and the C rows being updated.
  b.mc = std::clamp<int64_t>(round_down(c.l2 / 2 / (b.kc * elem_size), mr), mr, 4096);
  // NC: the KC x NC panel of B takes a quarter of L3, which the other cores share.
  b.nc = std::clamp<int64_t>(round_down(c.l3 / 4 / (b.kc * elem_size), nr), nr, 8192);
  return b;
}

int64_t balanced_block(int64_t len, int64_t max, int64_t unit) {
  if (len <= max) return len;
  const int64_t blocks = ceil_div(len, max);
  return std::min(max, round_up(ceil_div(len, blocks), unit));
}

Split split(int64_t batch, int64_t m, int64_t n, int64_t k, int mr, int nr, const Blocking& b,
            bool a_transposing, bool b_transposing, int threads) {
  Split s;
  s.rows = {m, m, 1};
  s.cols = {n, n, 1};
  s.tasks = batch;
  const double work = double(batch) * double(m) * double(n) * double(std::max<int64_t>(k, 1));
  const int64_t useful = std::max<int64_t>(1, static_cast<int64_t>(work / kMinWorkPerThread));
  const int64_t t = std::min<int64_t>(threads, useful);
  s.threads = static_cast<int>(std::max<int64_t>(t, 1));
  if (t <= 1) return s;

  const double pack_a = a_transposing ? kPackTranspose : kPackCopy;
  const double pack_b = b_transposing ? kPackTranspose : kPackCopy;
  const int64_t max_rows = ceil_div(m, mr), max_cols = ceil_div(n, nr);
  double best = -1;
  for (int64_t tm = 1; tm <= std::min(max_rows, 4 * t); ++tm) {
    const int64_t row_step = round_up(ceil_div(m, tm), mr);
    const int64_t row_parts = ceil_div(m, row_step);
    for (int64_t tn = 1; tn <= std::min(max_cols, 4 * t) && tm * tn <= 4 * t; ++tn) {
      const int64_t col_step = round_up(ceil_div(n, tn), nr);
      const int64_t col_parts = ceil_div(n, col_step);
      const int64_t tasks = batch * row_parts * col_parts;
      // a task packs its A rows once per NC panel and its B columns once
      const double task = double(row_step) * double(col_step) * double(k) +
                          pack_a * double(row_step) * double(k) * double(ceil_div(col_step, b.nc)) +
                          pack_b * double(col_step) * double(k);
      const double cost = double(ceil_div(tasks, t)) * task;
      if (best < 0 || cost < best * 0.999) {
        best = cost;
        s.rows = {m, row_step, row_parts};
        s.cols = {n, col_step, col_parts};
        s.tasks = tasks;
      }
    }
  }
  return s;
}

}  // namespace tg::cpu::gemm_plan
