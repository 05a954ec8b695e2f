// The cuda:: entries for a build without nvcc: CUDA reports itself unavailable
// and any request for device memory throws a clear error.
#include <stdexcept>

#include "../native/kernels.h"

namespace tg::cuda {

namespace {
[[noreturn]] void unavailable() {
  throw std::runtime_error(
      "CUDA is not available: this tensorgrad binary was built without CUDA support "
      "(rebuild with nvcc on the PATH: npm run build:cuda)");
}
}  // namespace

bool available() { return false; }
int device_count() { return 0; }
const char* status() { return "this binary was built without CUDA support"; }
void* alloc(size_t) { unavailable(); }
void free(void*, size_t) {}
void copy_to_device(void*, const void*, size_t) { unavailable(); }
void copy_to_host(void*, const void*, size_t) { unavailable(); }
void copy_device(void*, const void*, size_t) { unavailable(); }

}  // namespace tg::cuda
