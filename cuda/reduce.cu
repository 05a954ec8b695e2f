// Reductions (sum, prod, max, min with arg positions) and softmax along the middle
// axis of an (outer, r, inner) block, the layout of native/cpu/reduce.cc: callers
// move the reduced axes together first, so one layout serves every set of axes.
//
// One block shape serves both cases. A block is (bx, by, bz) threads: the bx lanes
// of a group take consecutive columns of inner, its by lanes share one column's r
// range, and bz groups sit side by side, each on its own tile of columns.
//   inner == 1: bx = 1, so the by lanes read one contiguous row (a warp for a short
//               row, up to the whole block for a long one; bz short rows a block);
//   inner > 1:  bx = min(32, a power of two >= inner), so a warp reads bx consecutive
//               columns of 32/bx consecutive rows: coalesced, and never 31 idle lanes
//               when inner is small.
// Lanes fold their share in registers, then the group folds with shuffles (and shared
// memory across warps when a group spans several). When the outputs are too few to
// fill the GPU (a full sum is one output), r is also cut into chunks: pass 1 writes
// (outputs, chunks) partial accumulators and pass 2 folds those as rows, with the
// same kernel. Softmax needs the whole row in one group, so it never splits.
//
// Numerics follow the CPU: sum and prod accumulate in double for every float type
// (int64 for the integer types, wrapping the same way), so a float sum matches the
// CPU's to the rounding of the result. max/min fold (value, position) pairs: NaN
// wins over numbers, the lower position wins ties and among NaNs, which is the CPU's
// sequential answer (the first NaN, else the first extreme) whatever the split.
// Softmax runs in float for float/half/bf16 (double for double), max-subtracted.
#include <cmath>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/elementwise_math.h"
#include "common.cuh"
#include "softmax_ops.cuh"
#include "scratch.cuh"

namespace tg::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
// A lane's share of r before the split into chunks pays (pass 2 then costs little).
constexpr int64_t kMinPerLane = 16;

// ---- block shape and the work it walks ---------------------------------------------

struct Layout {
  int bx, by, bz;
};

int pow2_at_least(int64_t n, int cap) {
  int p = 1;
  while (p < n && p < cap) p <<= 1;
  return p;
}

// About four elements of r per lane, at least one warp and at most a block per group.
Layout layout_for(int64_t r, int64_t inner) {
  const int bx = inner == 1 ? 1 : pow2_at_least(inner, 32);
  int by = pow2_at_least((r + 3) / 4, kThreads / bx);
  if (bx * by < 32) by = 32 / bx;
  return {bx, by, kThreads / (bx * by)};
}

// Tiles are (outer, bx columns) pairs, one per group; r is cut into `chunks` ranges
// of `chunk` (1 and r without a split).
struct Geometry {
  int64_t outer, r, inner;
  int64_t col_tiles, tiles;
  int64_t chunks, chunk;
};

Geometry geometry(const Layout& l, int64_t outer, int64_t r, int64_t inner) {
  Geometry g;
  g.outer = outer;
  g.r = r;
  g.inner = inner;
  g.col_tiles = (inner + l.bx - 1) / l.bx;
  g.tiles = outer * g.col_tiles;
  g.chunks = 1;
  g.chunk = r;
  return g;
}

int64_t block_tiles(const Layout& l, const Geometry& g) { return (g.tiles + l.bz - 1) / l.bz; }

// Resident blocks of kThreads that fill the device.
int64_t full_grid() { return static_cast<int64_t>(sm_count()) * 8; }

unsigned grid_size(int64_t blocks) {
  const int64_t g = blocks < full_grid() ? blocks : full_grid();
  return static_cast<unsigned>(g < 1 ? 1 : g);
}

// ---- group fold ----------------------------------------------------------------------

template <typename C>
struct ArgAcc {
  C value;
  int64_t index;  // position along r; -1 while nothing was seen
};

template <typename V>
__device__ __forceinline__ V shfl_xor(V v, int mask) {
  return __shfl_xor_sync(kFullMask, v, mask);
}
template <typename C>
__device__ __forceinline__ ArgAcc<C> shfl_xor(ArgAcc<C> a, int mask) {
  return {shfl_xor(a.value, mask), shfl_xor(a.index, mask)};
}

// Folds v over the by lanes of each group; every lane gets its group's result. A group
// is bx * by >= 32 threads (one warp, or whole warps) with bx dividing 32. Every thread
// of the block must call it (it synchronizes when a group spans warps). smem holds
// kThreads values.
template <typename Acc, typename F>
__device__ Acc group_fold(Acc v, const F& f, Acc* smem) {
  const int bx = blockDim.x, span = bx * blockDim.y;
  for (int off = bx; off < 32; off <<= 1) v = f(v, shfl_xor(v, off));
  if (span == 32) return v;
  // lanes 0..bx-1 of each warp hold that warp's fold for columns 0..bx-1
  const int linear = threadIdx.x + bx * (threadIdx.y + blockDim.y * threadIdx.z);
  const int warp = linear / 32, lane = linear % 32;
  __syncthreads();  // the previous call's readers are done with smem
  if (lane < bx) smem[warp * bx + lane] = v;
  __syncthreads();
  const int warps = span / 32, first = threadIdx.z * warps;
  Acc total = smem[first * bx + threadIdx.x];
  for (int w = 1; w < warps; ++w) total = f(total, smem[(first + w) * bx + threadIdx.x]);
  return total;
}

// ---- the reduction ops ----------------------------------------------------------------

// sum and prod in the CPU's accumulator (accum_t: double, or int64 for integers)
template <typename T>
struct SumProd {
  using Storage = T;
  using Acc = accum_t<T>;
  T* y;
  bool prod;

  __device__ Acc identity() const { return prod ? Acc(1) : Acc(0); }
  __device__ static Acc lift(T v, int64_t) { return static_cast<Acc>(Compute<T>::load(v)); }
  __device__ Acc operator()(Acc a, Acc b) const { return prod ? a * b : a + b; }
  __device__ void write(Acc a, int64_t p) const { y[p] = Compute<T>::store(a); }
};

// max and min with the position of the first extreme; NaN propagates (the first one)
template <typename T>
struct ArgExtreme {
  using Storage = T;
  using C = compute_t<T>;
  using Acc = ArgAcc<C>;
  T* y;
  int32_t* indices;  // may be null
  bool max;

  __device__ Acc identity() const { return {C(0), -1}; }
  __device__ static Acc lift(T v, int64_t j) { return {Compute<T>::load(v), j}; }
  __device__ Acc operator()(const Acc& a, const Acc& b) const {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan) {
      if (max ? b.value > a.value : b.value < a.value) return b;
      if (max ? a.value > b.value : a.value < b.value) return a;
    }
    return a.index < b.index ? a : b;  // equal values, or both NaN: the first
  }
  // an empty reduction (r == 0) stores 0 and leaves its index alone, as the CPU does
  __device__ void write(const Acc& a, int64_t p) const {
    y[p] = Compute<T>::store(a.index < 0 ? C(0) : a.value);
    if (indices != nullptr && a.index >= 0) indices[p] = static_cast<int32_t>(a.index);
  }
};

// Where the folded values come from: the input block, or pass 1's partials as rows.
template <typename Op>
struct ElementSource {
  const typename Op::Storage* x;
  int64_t r, inner;
  __device__ typename Op::Acc operator()(int64_t o, int64_t j, int64_t i) const {
    return Op::lift(x[(o * r + j) * inner + i], j);
  }
};
template <typename Acc>
struct PartialSource {
  const Acc* partials;
  int64_t chunks;
  __device__ Acc operator()(int64_t o, int64_t j, int64_t) const { return partials[o * chunks + j]; }
};

// (outer, r, inner) -> (outer, inner), or -> (outer * inner, chunks) partials when
// `partials` is set. Blocks walk (tile group, chunk) pairs in a grid-stride loop.
template <typename Op, typename Src>
__global__ void __launch_bounds__(kThreads)
    reduce_kernel(Op op, Src src, Geometry g, typename Op::Acc* partials) {
  using Acc = typename Op::Acc;
  __shared__ Acc smem[kThreads];
  const int64_t work = (g.tiles + blockDim.z - 1) / blockDim.z * g.chunks;
  for (int64_t b = blockIdx.x; b < work; b += gridDim.x) {
    const int64_t s = b % g.chunks;
    const int64_t tile = b / g.chunks * blockDim.z + threadIdx.z;
    const int64_t o = tile / g.col_tiles;
    const int64_t i = tile % g.col_tiles * blockDim.x + threadIdx.x;
    const bool live = tile < g.tiles && i < g.inner;
    const int64_t j0 = s * g.chunk;
    const int64_t j1 = j0 + g.chunk < g.r ? j0 + g.chunk : g.r;
    Acc acc = op.identity();
    if (live) {
#pragma unroll 4
      for (int64_t j = j0 + threadIdx.y; j < j1; j += blockDim.y) acc = op(acc, src(o, j, i));
    }
    acc = group_fold(acc, op, smem);
    if (live && threadIdx.y == 0) {
      const int64_t p = o * g.inner + i;
      if (partials != nullptr)
        partials[p * g.chunks + s] = acc;
      else
        op.write(acc, p);
    }
  }
}

template <typename Op, typename Src>
void launch_reduce(const Op& op, const Src& src, const Layout& l, const Geometry& g,
                   typename Op::Acc* partials) {
  const dim3 block(l.bx, l.by, l.bz);
  reduce_kernel<Op, Src><<<grid_size(block_tiles(l, g) * g.chunks), block, 0, stream()>>>(op, src, g, partials);
  TG_CUDA_LAUNCH_CHECK();
}

template <typename Op>
void run_reduce(const Op& op, const typename Op::Storage* x, int64_t outer, int64_t r, int64_t inner) {
  using Acc = typename Op::Acc;
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  const Layout l = layout_for(r, inner);
  Geometry g = geometry(l, outer, r, inner);
  const ElementSource<Op> elements{x, r, inner};
  // split r when the tiles alone leave the device idle and each chunk stays sizeable
  const int64_t blocks = block_tiles(l, g), min_chunk = l.by * kMinPerLane;
  if (blocks < full_grid() && r > min_chunk) {
    int64_t want = (full_grid() + blocks - 1) / blocks;
    const int64_t most = (r + min_chunk - 1) / min_chunk;
    if (want > most) want = most;
    g.chunk = (r + want - 1) / want;
    g.chunks = (r + g.chunk - 1) / g.chunk;
  }
  if (g.chunks == 1) return launch_reduce(op, elements, l, g, static_cast<Acc*>(nullptr));

  Scratch<Acc> partials(outputs * g.chunks);
  launch_reduce(op, elements, l, g, partials.get());
  const Layout l2 = layout_for(g.chunks, 1);
  launch_reduce(op, PartialSource<Acc>{partials.get(), g.chunks}, l2, geometry(l2, outputs, g.chunks, 1),
                static_cast<Acc*>(nullptr));
}

// ---- softmax -------------------------------------------------------------------------

// Each group owns whole rows (one column of inner each lane): max, sum of exp, write.
template <typename T>
__global__ void __launch_bounds__(kThreads) softmax_kernel(const T* x, T* y, Geometry g, bool log) {
  using L = Compute<T>;
  using C = compute_t<T>;
  __shared__ C smem[kThreads];
  const int64_t work = (g.tiles + blockDim.z - 1) / blockDim.z;
  for (int64_t b = blockIdx.x; b < work; b += gridDim.x) {
    const int64_t tile = b * blockDim.z + threadIdx.z;
    const int64_t o = tile / g.col_tiles;
    const int64_t i = tile % g.col_tiles * blockDim.x + threadIdx.x;
    const bool live = tile < g.tiles && i < g.inner;
    const int64_t base = live ? o * g.r * g.inner + i : 0;
    const T* in = x + base;
    T* out = y + base;
    const int64_t j0 = threadIdx.y, step = blockDim.y, stride = g.inner;

    C m = -INFINITY;
    if (live)
      for (int64_t j = j0; j < g.r; j += step) m = MaxIgnoringNaN{}(m, L::load(in[j * stride]));
    m = group_fold(m, MaxIgnoringNaN{}, smem);
    if (m == C(-INFINITY)) m = 0;  // a row of -inf stays finite in the shift

    C sum = 0;
    if (live)
      for (int64_t j = j0; j < g.r; j += step) sum += exp_of(L::load(in[j * stride]) - m);
    sum = group_fold(sum, Plus{}, smem);

    if (!live) continue;
    if (log) {
      const C shift = m + log_of(sum);
      for (int64_t j = j0; j < g.r; j += step) out[j * stride] = L::store(L::load(in[j * stride]) - shift);
    } else {
      const C inv = C(1) / sum;
      for (int64_t j = j0; j < g.r; j += step)
        out[j * stride] = L::store(exp_of(L::load(in[j * stride]) - m) * inv);
    }
  }
}

}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int32_t* indices, int64_t outer, int64_t r, int64_t inner) {
  switch (op) {
    case ReduceOp::sum: return run_reduce(SumProd<T>{y, false}, x, outer, r, inner);
    case ReduceOp::prod: return run_reduce(SumProd<T>{y, true}, x, outer, r, inner);
    case ReduceOp::max: return run_reduce(ArgExtreme<T>{y, indices, true}, x, outer, r, inner);
    case ReduceOp::min: return run_reduce(ArgExtreme<T>{y, indices, false}, x, outer, r, inner);
    default: break;
  }
  throw std::invalid_argument("reduce: unknown op");
}

template <typename T>
void softmax(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, bool log) {
  if (outer * r * inner == 0) return;
  const Layout l = layout_for(r, inner);
  const Geometry g = geometry(l, outer, r, inner);
  softmax_kernel<T><<<grid_size(block_tiles(l, g)), dim3(l.bx, l.by, l.bz), 0, stream()>>>(x, y, g, log);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T) template void reduce<T>(ReduceOp, const T*, T*, int32_t*, int64_t, int64_t, int64_t);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST
#define TG_INST(T) template void softmax<T>(const T*, T*, int64_t, int64_t, int64_t, bool);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda
