// GEMM loop nest for the generic ISA; see gemm_kernel.inc.
#define TG_ISA_NS generic
#include "gemm_kernel.inc"

namespace tg::cpu::generic {
// The portable loop nest also serves the half and integer dtypes.
template void gemm<::tg::half>(const GemmArgs&, const ::tg::half*, const ::tg::half*, ::tg::half*);
template void gemm<::tg::bfloat16>(const GemmArgs&, const ::tg::bfloat16*,
                                   const ::tg::bfloat16*, ::tg::bfloat16*);
template void gemm<int32_t>(const GemmArgs&, const int32_t*, const int32_t*, int32_t*);
template void gemm<uint8_t>(const GemmArgs&, const uint8_t*, const uint8_t*, uint8_t*);
template void gemm<::tg::boolean>(const GemmArgs&, const ::tg::boolean*, const ::tg::boolean*,
                                  ::tg::boolean*);
}  // namespace tg::cpu::generic
