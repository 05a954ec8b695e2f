// The one GEMM entry: float, double and the half types (fp32 compute) go to the
// packed kernels of the ISA chosen at load (isa.cc); the integer dtypes use the
// portable reference loop.
#include "../kernels.h"
#include "instantiate.h"
#include "isa.h"

namespace tg::cpu {

namespace reference {
template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c);
}

template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  if constexpr (std::is_same_v<T, float>) {
    isa_kernels().sgemm(g, a, b, c);
  } else if constexpr (std::is_same_v<T, double>) {
    isa_kernels().dgemm(g, a, b, c);
  } else if constexpr (std::is_same_v<T, half>) {
    isa_kernels().hgemm(g, a, b, c);
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    isa_kernels().bgemm(g, a, b, c);
  } else {
    reference::gemm<T>(g, a, b, c);
  }
}

#define TG_INST(T) template void gemm<T>(const GemmArgs&, const T*, const T*, T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu
