// GEMM for the generic ISA: the portable micro-kernel in the packed loop nest.
#define TG_ISA_NS generic
#include "gemm_ukernel_portable.h"
#include "gemm_driver.inc"
#include "gemm_isa_entries.inc"
