// Direct-convolution plane kernels for AVX2 + FMA; see conv_direct.inc.
#define TG_ISA_NS avx2
#include "conv_direct.inc"
