// GEMM loop nest for the avx512 ISA; see gemm_kernel.inc.
#define TG_ISA_NS avx512
#include "gemm_kernel.inc"
