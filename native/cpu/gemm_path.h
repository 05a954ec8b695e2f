// How the GEMM loop nest (gemm_driver.inc) runs storage type S: what its packed panels
// hold, how many entries kc steps of K take in a panel row, and what a thread must set
// up before its micro-kernel runs. The default is the widening path: half storage is
// converted to its compute type while it is packed (gemm_pack.h), kc steps take kc
// entries, and there is nothing to set up. An ISA with a path of its own for S
// specializes GemmPath<S> after including this file and before the driver, along with
// gemm_pack.h's pack_a and pack_b for its panel type; gemm_amx.cc and
// gemm_avx512bf16.cc do so for bfloat16, which they keep as bfloat16 in the K-pair
// layouts that TDPBF16PS and VDPBF16PS read.
// Each ISA file includes this after defining TG_ISA_NS.
#pragma once
#include <cstdint>

#include "../half.h"

namespace tg::cpu::TG_ISA_NS {

template <typename S>
struct GemmPath {
  using Panel = compute_t<S>;  // element of the packed panels; Ukernel<Panel> runs on them
  static int64_t depth(int64_t kc) { return kc; }
  struct Scope {};  // held by a thread while it runs GEMM tasks
};

}  // namespace tg::cpu::TG_ISA_NS
