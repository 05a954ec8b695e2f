// TG_HOST_DEVICE marks a function that native/cpu/* and cuda/* both compile: under
// nvcc it becomes __host__ __device__, in the plain C++ build nothing. Headers that
// hold one rule for both backends (cross_entropy_math.h, optim_math.h) use it, so a
// formula is written once and the GPU runs what the CPU tests check.
#pragma once

#ifdef __CUDACC__
#define TG_HOST_DEVICE __host__ __device__
#else
#define TG_HOST_DEVICE
#endif
