// The per-position formulas of the fused softmax cross-entropy (see kernel_list.inc),
// shared by native/cpu/cross_entropy.cc and cuda/cross_entropy.cu so that both backends
// evaluate the same expressions; only how a row's sums are gathered differs.
//
// A row's statistics are taken relative to its max m, which keeps them small whatever
// the logits' size: log_sum = log sum_j exp(x_j - m) (so lse = m + log_sum),
// target_shift = x_t - m, weighted_shift = sum_j w_j (x_j - m), weight_sum = W = sum_j w_j.
#pragma once
#include <cstdint>

#include "host_device.h"

namespace tg {

// Whether a position's target counts: a class in [0, c) that is not the ignored index.
TG_HOST_DEVICE inline bool cross_entropy_counts(int32_t t, int64_t c, int64_t ignore_index) {
  return t != ignore_index && t >= 0 && t < c;
}

// (1 - eps) w_t (lse - x_t) + eps / c sum_j w_j (lse - x_j), from the shifted statistics:
// lse - x_t = log_sum - target_shift and sum_j w_j (lse - x_j) = W log_sum - weighted_shift.
// A term whose coefficient is 0 is left out, not multiplied by 0: a -inf logit makes its
// sum infinite, and 0 * inf would turn PyTorch's finite loss into NaN. (Without
// smoothing the kernels do not even gather weighted_shift across threads.)
template <typename C>
TG_HOST_DEVICE inline C cross_entropy_loss(C log_sum, C target_shift, C w_t, C weighted_shift, C weight_sum,
                                              C eps, C inv_c) {
  C loss = eps == C(1) ? C(0) : (C(1) - eps) * w_t * (log_sum - target_shift);
  if (eps != C(0)) loss += eps * inv_c * (weight_sum * log_sum - weighted_shift);
  return loss;
}

// gloss * dloss/dx_j of a counted position, as three scales of its terms:
//   softmax_j * softmax_scale - w_j * class_scale - [j == t] * target_scale.
template <typename C>
struct CrossEntropyGrad {
  C softmax_scale;  // gloss ((1 - eps) w_t + eps W / c): d lse / dx_j = softmax_j, times the weights lse carries
  C class_scale;    // gloss eps / c: the smoothing term's -w_j x_j
  C target_scale;   // gloss (1 - eps) w_t: the target term's -w_t x_t

  TG_HOST_DEVICE C at(C softmax_j, C w_j, bool is_target) const {
    return softmax_j * softmax_scale - w_j * class_scale - (is_target ? target_scale : C(0));
  }
};

template <typename C>
TG_HOST_DEVICE inline CrossEntropyGrad<C> cross_entropy_grad(C gloss, C w_t, C weight_sum, C eps, C inv_c) {
  return {gloss * ((C(1) - eps) * w_t + eps * weight_sum * inv_c), gloss * eps * inv_c, gloss * (C(1) - eps) * w_t};
}

}  // namespace tg
