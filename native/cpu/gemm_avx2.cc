// GEMM loop nest for the avx2 ISA; see gemm_kernel.inc.
#define TG_ISA_NS avx2
#include "gemm_kernel.inc"
