// CPU feature detection and the per-ISA kernel table, chosen once at load so one
// binary runs on any x86-64 and uses the widest vector unit present.
#pragma once
#include <string>

#include "../kernels.h"

namespace tg::cpu {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512bf16 = false, avx512fp16 = false;
  // AMX-BF16 usable here: the CPU has AMX-TILE and AMX-BF16, the OS enables the tile
  // state, and (Linux) it granted this process the permission requested at detection
  bool amx_bf16 = false;
};

// Register tiles (rows x columns of C) of an ISA's GEMM micro-kernels, for reports.
struct GemmTiles {
  int f32_rows, f32_cols, f64_rows, f64_cols;
};

struct IsaKernels {
  // "amx" (AVX-512 with bfloat16 on AMX tiles), "avx512bf16" (AVX-512 with bfloat16 on
  // AVX512-BF16 dot products), "avx512", "avx2" or "generic"
  const char* name;
  GemmTiles (*tiles)();
  void (*sgemm)(const GemmArgs&, const float*, const float*, float*);
  void (*dgemm)(const GemmArgs&, const double*, const double*, double*);
  // half storage, fp32 compute: the packed fp32 kernels with widening packs, or for
  // bfloat16 on "amx" and "avx512bf16" bf16 products that accumulate in fp32 themselves
  void (*hgemm)(const GemmArgs&, const half*, const half*, half*);
  void (*bgemm)(const GemmArgs&, const bfloat16*, const bfloat16*, bfloat16*);
};

const CpuFeatures& cpu_features();
const IsaKernels& isa_kernels();
// Overrides the choice (e.g. "generic") for tests; returns false for an ISA this CPU lacks.
bool select_isa(const std::string& name);

#define TG_ISA_DECLARE(ns)                                                        \
  namespace ns {                                                                  \
  template <typename T>                                                           \
  void gemm(const GemmArgs& g, const T* a, const T* b, T* c);                     \
  extern template void gemm<float>(const GemmArgs&, const float*, const float*, float*); \
  extern template void gemm<double>(const GemmArgs&, const double*, const double*, double*); \
  extern template void gemm<half>(const GemmArgs&, const half*, const half*, half*); \
  extern template void gemm<bfloat16>(const GemmArgs&, const bfloat16*, const bfloat16*, bfloat16*); \
  GemmTiles gemm_tiles();                                                         \
  }
TG_ISA_DECLARE(generic)
TG_ISA_DECLARE(avx2)
TG_ISA_DECLARE(avx512)
#undef TG_ISA_DECLARE

// The bfloat16 GEMM that is the one kernel of its own in an ISA above "avx512": on AMX
// tiles (gemm_amx.cc) for "amx", on AVX512-BF16 dot products (gemm_avx512bf16.cc) for
// "avx512bf16"
#define TG_BF16_ISA_DECLARE(ns)                                                   \
  namespace ns {                                                                  \
  template <typename T>                                                           \
  void gemm(const GemmArgs& g, const T* a, const T* b, T* c);                     \
  extern template void gemm<bfloat16>(const GemmArgs&, const bfloat16*, const bfloat16*, bfloat16*); \
  }
TG_BF16_ISA_DECLARE(avx512bf16)
TG_BF16_ISA_DECLARE(amx)
#undef TG_BF16_ISA_DECLARE

}  // namespace tg::cpu
