// Every kernel's declaration: the contract between dispatch.cc and the kernels.
// Kernels receive valid buffers, sizes and strides (in elements) and only compute.
// Shapes in comments: (outer, r, inner) means a row-major block reduced over r.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dtype.h"
#include "ops.h"

namespace tg {

constexpr int kMaxDims = 16;

// A broadcast walk over `shape` for up to four operands; operand 0 is the output.
// Strides may be 0 (broadcast). Built by make_iter(), which merges adjacent dims.
struct Iter {
  int ndim = 0;
  int nops = 0;
  int64_t shape[kMaxDims];
  int64_t strides[4][kMaxDims];
  int64_t offset[4] = {0, 0, 0, 0};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
};

struct UnaryParams {
  double a = 0, b = 0;  // leakyRelu slope; elu alpha; softplus beta, threshold; clamp lo, hi
};

// Applied to each element of C as it is stored, after the bias.
#define TG_GEMM_ACTIVATIONS(X) \
  X(none)                      \
  X(relu)                      \
  X(gelu)     /* exact: 0.5 x (1 + erf(x / sqrt 2)) */ \
  X(geluTanh) /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
enum class GemmAct : int {
#define TG_NAME(name) name,
  TG_GEMM_ACTIVATIONS(TG_NAME)
#undef TG_NAME
  kCount
};

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  // Fused epilogue: C = act(alpha op(A) op(B) + beta C + bias), bias (C's dtype,
  // length n, shared by every matrix of the batch) added per column, as in Linear.
  const void* bias = nullptr;
  GemmAct act = GemmAct::none;
};

// Gather/scatter along `dim` with an index tensor of shape index_shape
// (contiguous int32); src and out strides are in elements.
struct IndexArgs {
  int ndim = 0;
  int dim = 0;
  int64_t index_shape[kMaxDims];
  int64_t src_strides[kMaxDims];
  int64_t out_strides[kMaxDims];
};

// 2-D convolution, NCHW: input (n, c, h, w), weight (oc, c / groups, kh, kw),
// output (n, oc, oh, ow). Output position (i, j) reads input row i*stride_h -
// pad_h + a*dil_h for a < kh (likewise columns); positions outside the input are 0.
// Only pad_h/pad_w (top/left) enter the kernels: the bottom/right padding is
// implied by oh/ow, so asymmetric padding ('same' with an even kernel) needs nothing more.
struct ConvArgs {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t oc = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t groups = 1;
};

// 2-D pooling over `planes` independent (h, w) planes into (oh, ow) planes. Windows
// are clipped to the input, so any oh/ow is safe; ceil mode is just a larger oh/ow.
// Adaptive pooling reads only planes, h, w, oh, ow.
struct PoolArgs {
  int64_t planes = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  bool count_include_pad = true;  // average pooling: divide by the window incl. padding
};

// A fused optimizer update over one parameter group (see cpu/optim.cc for the rules).
// Group hyperparameters are shared; each tensor brings its own step count.
struct OptimArgs {
  OptimKind kind = OptimKind::sgd;
  double lr = 0, weight_decay = 0, momentum = 0, dampening = 0;
  double beta1 = 0, beta2 = 0, alpha = 0, eps = 0, lr_decay = 0;
  double inv_scale = 1;  // every gradient is multiplied by this (1 / loss scale)
  bool nesterov = false, maximize = false;
  bool decoupled = false;  // adam: weight decay on the parameter (AdamW)
  bool amsgrad = false;    // adam: state[2] keeps the running max of the second moment
  bool centered = false;   // rmsprop: state[2] keeps the gradient average
  // One float32 flag (mixed precision): when non-zero the whole update is skipped.
  const float* found_inf = nullptr;
};

// One parameter of the group: param and state share a dtype, grad shares it too or,
// with float32 master weights, is half (float16 or bfloat16) like copy: the half
// parameter the model computes with, rewritten from the updated param (null when the
// parameter is its own master). Every tensor holds numel elements. state slots (null
// when unused):
//   sgd:     [momentum buffer]
//   adam:    [exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)]
//   rmsprop: [square_avg, momentum buffer (momentum > 0), grad_avg (centered)]
//   adagrad: [sum]
// step is this update's count, from 1: Adam's bias corrections, Adagrad's decayed
// rate; for SGD, step 1 means the momentum buffer is new and starts as the gradient.
struct OptimTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* state[3] = {nullptr, nullptr, nullptr};
  void* copy = nullptr;
  int64_t numel = 0;
  int64_t step = 1;
};

// Softmax cross-entropy at class indices (the formulas are in kernel_list.inc): logits
// (outer, c, inner), one target per (outer, inner) position; smoothing is PyTorch's
// label_smoothing, in [0, 1].
struct CrossEntropyArgs {
  int64_t outer = 0, c = 0, inner = 1;
  int64_t ignore_index = -100;
  double smoothing = 0;
};

// One gradient of the loss scaler's unscale pass (cpu/amp.cc): numel elements at data.
struct AmpTensor {
  void* data = nullptr;
  int64_t numel = 0;
};

namespace cpu {
#include "kernel_list.inc"
}  // namespace cpu

// CUDA: the same kernels on device memory, plus the device's own services. Built
// from cuda/ when nvcc is present, else from cuda/stub.cc, where each one throws a
// clear error.
namespace cuda {
#include "kernel_list.inc"

bool available();
int device_count();
const char* status();       // why CUDA is or is not usable, for error messages
const char* device_name();  // of device 0; "" without one
// The half GEMMs' tensor-core instructions on device 0: "wgmma" (sm_90a) or "mma.sync"
// (asks the GPU once; throws without one)
const char* gemm_tensor_cores();
void* alloc(size_t bytes);  // throws OutOfMemory (allocator.h) when a retry after emptying the cache fails
void free(void* p, size_t bytes);
void empty_cache();         // returns every cached free block to the driver
int64_t cached_bytes();     // held in the cache, not in use
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);  // waits for queued kernels
void copy_device(void* dst, const void* src, size_t bytes);
void synchronize();         // waits until every queued kernel has run
}  // namespace cuda

}  // namespace tg
