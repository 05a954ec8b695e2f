/*
 * oneDNN peer: dnnl_sgemm (row-major, transpose flags 'N'/'T'). Its CPU runtime
 * is usually OpenMP, so threads come from OMP_NUM_THREADS, which the bench sets
 * before starting this process. Built at bench time: cc -O2 gemm_dnnl.c -ldnnl
 */
#include "peer_common.h"
#include <oneapi/dnnl/dnnl.h>

static const char *peer_name(void) { return "dnnl"; }

static void peer_setup(int threads) { (void)threads; }

static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

static const char *runtime_name(unsigned rt) {
  switch (rt) {
    case DNNL_RUNTIME_SEQ: return "sequential";
    case DNNL_RUNTIME_OMP: return "openmp";
    case DNNL_RUNTIME_TBB: return "tbb";
    case DNNL_RUNTIME_THREADPOOL: return "threadpool";
    default: return "other";
  }
}

static void peer_info(FILE *f) {
  const dnnl_version_t *v = dnnl_version();
  fprintf(f, ",\"version\":\"oneDNN %d.%d.%d\",\"runtime\":\"%s\",\"isa\":\"%s\"", v->major, v->minor, v->patch,
          runtime_name(v->cpu_runtime), isa_name(dnnl_get_effective_cpu_isa()));
}

static void peer_gemm(char ta, char tb, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc) {
  dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
