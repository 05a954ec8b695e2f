// One persistent pool for every CPU kernel. A call from inside a pool task runs
// serially, so kernels never nest parallel regions.
#pragma once
#include <cstdint>
#include <functional>

namespace tg::cpu {

// Splits [0, n) into chunks of at least `grain` items and runs fn(begin, end) on
// the pool; the calling thread takes part. Small ranges run inline.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

void set_num_threads(int n);  // clamps to [1, 256]
int get_num_threads();

}  // namespace tg::cpu
