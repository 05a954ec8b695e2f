// Error checks for CUDA calls in a library: a failed call throws a C++ exception
// that the N-API glue turns into a JS error. A program may exit(); we must not.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace tg::cuda {

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state where the error allows it
    throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" +
                             std::to_string(line) + "): " + cudaGetErrorString(err));
  }
}

}  // namespace tg::cuda

#define TG_CUDA_CHECK(call) ::tg::cuda::check((call), #call, __FILE__, __LINE__)
// After every kernel launch: launch errors are reported by cudaGetLastError.
#define TG_CUDA_LAUNCH_CHECK() ::tg::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
