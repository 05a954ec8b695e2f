// Per-thread packing buffers for the GEMM drivers: allocated on a thread's first
// GEMM, grown when a larger one comes, and reused afterwards, because faulting in
// fresh pages costs more than packing into them (see DESIGN.md, "Reuse memory").
#pragma once
#include <cstddef>

namespace tg::cpu {

// A 64-byte aligned buffer of at least `bytes`, owned by the calling thread and
// valid until its next call; a GEMM never nests, so one per thread suffices.
void* gemm_scratch(size_t bytes);

}  // namespace tg::cpu
