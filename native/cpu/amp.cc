// The loss scaler's multi-tensor pass (PyTorch's _amp_foreach_non_finite_check_and_unscale_):
// one read and one write of every gradient, which is multiplied by inv_scale in place
// while any inf or NaN among the values read sets the found-inf flag. Doing the check
// and the unscale in the same pass halves the memory traffic of a separate isfinite
// reduction followed by a scale, and one call covers all the gradients of a dtype:
// they are cut into pieces that the pool shares, like the fused optimizer step.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "instantiate.h"
#include "threadpool.h"

namespace tg::cpu {

namespace {

constexpr int64_t kPiece = 16384;
constexpr int64_t kPiecesPerTask = 2;

struct Piece {
  int64_t tensor, begin, end;
};

// Unscales [b, e) of one tensor; true when a value read there was not finite.
template <typename T>
bool unscale_piece(T* x, int64_t b, int64_t e, compute_t<T> inv) {
  using L = Compute<T>;
  using C = compute_t<T>;
  bool bad = false;
  // v - v is 0 for every finite v and NaN for inf and NaN: a branch-free check
  if (inv == C(1)) {  // check only (a fused optimizer unscales inside its update): no writes
    for (int64_t i = b; i < e; ++i) {
      const C v = L::load(x[i]);
      bad |= !(v - v == C(0));
    }
    return bad;
  }
  for (int64_t i = b; i < e; ++i) {
    const C v = L::load(x[i]);
    bad |= !(v - v == C(0));
    x[i] = L::store(v * inv);
  }
  return bad;
}

}  // namespace

template <typename T>
void amp_unscale(const AmpTensor* tensors, int64_t count, double inv_scale, float* found_inf) {
  std::vector<Piece> pieces;
  for (int64_t k = 0; k < count; ++k)
    for (int64_t b = 0; b < tensors[k].numel; b += kPiece)
      pieces.push_back({k, b, std::min(tensors[k].numel, b + kPiece)});
  const int64_t n = static_cast<int64_t>(pieces.size());
  std::vector<unsigned char> bad(static_cast<size_t>(n), 0);
  const compute_t<T> inv = static_cast<compute_t<T>>(inv_scale);
  parallel_for(n, kPiecesPerTask, [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) {
      const Piece& p = pieces[q];
      bad[q] = unscale_piece(static_cast<T*>(tensors[p.tensor].data), p.begin, p.end, inv);
    }
  });
  // the flag only ever goes up: one flag can collect the checks of several calls
  if (std::any_of(bad.begin(), bad.end(), [](unsigned char b) { return b != 0; })) *found_inf = 1.0f;
}

#define TG_INST(T) template void amp_unscale<T>(const AmpTensor*, int64_t, double, float*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu
