// Direct-convolution plane kernels for AVX-512; see conv_direct.inc.
#define TG_ISA_NS avx512
#include "conv_direct.inc"
