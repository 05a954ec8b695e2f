// The portable row-by-row GEMM for the dtypes without a packed kernel (half types,
// which compute in float, and the integer types): C = act(alpha op(A) op(B) +
// beta C + bias) one row of C at a time, with that row's sums in the compute type.
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "instantiate.h"
#include "threadpool.h"

namespace tg::cpu::reference {

namespace {

template <typename C>
C activate(C v, GemmAct act) {
  switch (act) {
    case GemmAct::relu: return v < C(0) ? C(0) : v;
    case GemmAct::gelu: {
      const double x = static_cast<double>(v);
      return static_cast<C>(0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)));
    }
    case GemmAct::geluTanh: {
      const double x = static_cast<double>(v);
      return static_cast<C>(0.5 * x * (1.0 + std::tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x))));
    }
    default: return v;
  }
}

}  // namespace

template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  using L = Compute<T>;
  using C = compute_t<T>;
  const int64_t m = g.m, n = g.n, k = g.k;
  if (m <= 0 || n <= 0 || g.batch <= 0) return;
  const C alpha = static_cast<C>(g.alpha), beta = static_cast<C>(g.beta);
  const T* bias = static_cast<const T*>(g.bias);
  const int64_t work_per_row = n * (k ? k : 1);
  parallel_for(g.batch * m, (1 << 16) / work_per_row + 1, [&](int64_t r0, int64_t r1) {
    std::vector<C> acc(n);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bi = r / m, i = r % m;
      const T* A = a + bi * g.stride_a;
      const T* B = b + bi * g.stride_b;
      T* Cm = c + bi * g.stride_c + i * g.ldc;
      std::fill(acc.begin(), acc.end(), C(0));
      // alpha == 0 reads neither A nor B, as in BLAS (and the packed kernels)
      if (alpha != C(0) && !g.trans_b) {
        for (int64_t p = 0; p < k; ++p) {
          const C av = L::load(g.trans_a ? A[p * g.lda + i] : A[i * g.lda + p]);
          const T* brow = B + p * g.ldb;
          for (int64_t j = 0; j < n; ++j) acc[j] += av * L::load(brow[j]);
        }
      } else if (alpha != C(0)) {
        for (int64_t j = 0; j < n; ++j) {
          const T* bcol = B + j * g.ldb;
          C s = 0;
          for (int64_t p = 0; p < k; ++p)
            s += L::load(g.trans_a ? A[p * g.lda + i] : A[i * g.lda + p]) * L::load(bcol[p]);
          acc[j] = s;
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        // beta == 0 ignores C's old contents (which may be uninitialized), as BLAS does
        C v = beta == C(0) ? alpha * acc[j] : alpha * acc[j] + beta * L::load(Cm[j]);
        if (bias) v += L::load(bias[j]);
        Cm[j] = L::store(activate(v, g.act));
      }
    }
  });
}

#define TG_INST(T) template void gemm<T>(const GemmArgs&, const T*, const T*, T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu::reference
