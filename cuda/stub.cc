// The cuda:: entries for a build without nvcc: CUDA reports itself unavailable,
// and any request for device memory or a kernel throws a clear error. The kernel
// instantiations match the ones cuda/*.cu provide, so dispatch.cc links either way.
#include <stdexcept>

#include "../native/cpu/instantiate.h"
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
const char* device_name() { return ""; }
const char* gemm_tensor_cores() { unavailable(); }
void* alloc(size_t) { unavailable(); }
void free(void*, size_t) {}
void empty_cache() {}
int64_t cached_bytes() { return 0; }
void copy_to_device(void*, const void*, size_t) { unavailable(); }
void copy_to_host(void*, const void*, size_t) { unavailable(); }
void copy_device(void*, const void*, size_t) { unavailable(); }
void synchronize() {}

// No CUDA storage can exist in this build, so no kernel below is ever reached;
// they throw all the same rather than trust that.
template <typename T> void fill(T*, int64_t, double) { unavailable(); }
template <typename S, typename D> void cast(const S*, D*, int64_t) { unavailable(); }
template <typename T> void unary(UnaryOp, const T*, T*, int64_t, const UnaryParams&) { unavailable(); }
template <typename T> void binary(BinaryOp, const Iter&, T*, const T*, const T*) { unavailable(); }
template <typename T> void compare(CompareOp, const Iter&, boolean*, const T*, const T*) { unavailable(); }
void copy_strided(const Iter&, int, char*, const char*) { unavailable(); }
void where(const Iter&, int, char*, const boolean*, const char*, const char*) { unavailable(); }
void tri(int, const char*, char*, int64_t, int64_t, int64_t, int64_t, bool) { unavailable(); }
void index_select(int, const char*, const int32_t*, char*, int64_t, int64_t, int64_t, int64_t) { unavailable(); }
void gather(int, const IndexArgs&, const char*, const int32_t*, char*) { unavailable(); }
template <typename T> void scatter_add(const IndexArgs&, T*, const int32_t*, const T*) { unavailable(); }
template <typename T> void reduce(ReduceOp, const T*, T*, int32_t*, int64_t, int64_t, int64_t) { unavailable(); }
template <typename T> void softmax(const T*, T*, int64_t, int64_t, int64_t, bool) { unavailable(); }
template <typename T> void gemm(const GemmArgs&, const T*, const T*, T*) { unavailable(); }
template <typename T> void random(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double) { unavailable(); }
template <typename T> void conv2d_forward(const ConvArgs&, const T*, const T*, const T*, T*) { unavailable(); }
template <typename T> void conv2d_grad_input(const ConvArgs&, const T*, const T*, T*) { unavailable(); }
template <typename T> void conv2d_grad_weight(const ConvArgs&, const T*, const T*, T*) { unavailable(); }
template <typename T> void conv2d_grad_bias(const ConvArgs&, const T*, T*) { unavailable(); }
template <typename T> void max_pool2d(const PoolArgs&, const T*, T*, int32_t*) { unavailable(); }
template <typename T> void max_pool2d_backward(const PoolArgs&, const T*, const int32_t*, T*) { unavailable(); }
template <typename T> void avg_pool2d(const PoolArgs&, const T*, T*) { unavailable(); }
template <typename T> void avg_pool2d_backward(const PoolArgs&, const T*, T*) { unavailable(); }
template <typename T> void adaptive_avg_pool2d(const PoolArgs&, const T*, T*) { unavailable(); }
template <typename T> void adaptive_avg_pool2d_backward(const PoolArgs&, const T*, T*) { unavailable(); }
template <typename T, typename G> void optim_step(const OptimArgs&, const OptimTensor*, int64_t) { unavailable(); }
template <typename T> void amp_unscale(const AmpTensor*, int64_t, double, float*) { unavailable(); }
template <typename T>
void cross_entropy_forward(const CrossEntropyArgs&, const T*, const int32_t*, const T*, T*, compute_t<T>*, T*) {
  unavailable();
}
template <typename T>
void cross_entropy_backward(const CrossEntropyArgs&, const T*, const int32_t*, const T*, const compute_t<T>*,
                            const T*, T*) {
  unavailable();
}

#define TG_INST_ALL(T)                                                                   \
  template void fill<T>(T*, int64_t, double);                                            \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, const UnaryParams&);            \
  template void binary<T>(BinaryOp, const Iter&, T*, const T*, const T*);                \
  template void compare<T>(CompareOp, const Iter&, boolean*, const T*, const T*);        \
  template void scatter_add<T>(const IndexArgs&, T*, const int32_t*, const T*);          \
  template void reduce<T>(ReduceOp, const T*, T*, int32_t*, int64_t, int64_t, int64_t);  \
  template void gemm<T>(const GemmArgs&, const T*, const T*, T*);                        \
  template void random<T>(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double);
TG_FOR_ALL_TYPES(TG_INST_ALL)

#define TG_INST_CAST(S, D) template void cast<S, D>(const S*, D*, int64_t);
TG_FOR_ALL_TYPE_PAIRS(TG_INST_CAST)

#define TG_INST_FLOAT(T)                                                                 \
  template void softmax<T>(const T*, T*, int64_t, int64_t, int64_t, bool);               \
  template void conv2d_forward<T>(const ConvArgs&, const T*, const T*, const T*, T*);    \
  template void conv2d_grad_input<T>(const ConvArgs&, const T*, const T*, T*);           \
  template void conv2d_grad_weight<T>(const ConvArgs&, const T*, const T*, T*);          \
  template void conv2d_grad_bias<T>(const ConvArgs&, const T*, T*);                      \
  template void max_pool2d<T>(const PoolArgs&, const T*, T*, int32_t*);                  \
  template void max_pool2d_backward<T>(const PoolArgs&, const T*, const int32_t*, T*);   \
  template void avg_pool2d<T>(const PoolArgs&, const T*, T*);                            \
  template void avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);                   \
  template void adaptive_avg_pool2d<T>(const PoolArgs&, const T*, T*);                   \
  template void adaptive_avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);          \
  template void amp_unscale<T>(const AmpTensor*, int64_t, double, float*);               \
  template void cross_entropy_forward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*, T*, \
                                         compute_t<T>*, T*);                                              \
  template void cross_entropy_backward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*,    \
                                          const compute_t<T>*, const T*, T*);
TG_FOR_FLOAT_TYPES(TG_INST_FLOAT)

#define TG_INST_OPTIM(T, G) template void optim_step<T, G>(const OptimArgs&, const OptimTensor*, int64_t);
TG_FOR_OPTIM_TYPE_PAIRS(TG_INST_OPTIM)

}  // namespace tg::cuda
