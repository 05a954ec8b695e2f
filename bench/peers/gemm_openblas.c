/*
 * OpenBLAS peer: cblas_sgemm, row-major, with the transpose flags a backward
 * pass uses. Threads come from OPENBLAS_NUM_THREADS (set by the bench) and
 * openblas_set_num_threads. Built at bench time: cc -O2 gemm_openblas.c -lopenblas
 */
#include "peer_common.h"
#include <cblas.h>

static const char *peer_name(void) { return "openblas"; }

static void peer_setup(int threads) { openblas_set_num_threads(threads); }

static void peer_info(FILE *f) {
  fprintf(f, ",\"version\":");
  json_string(f, openblas_get_config());
  fprintf(f, ",\"core\":");
  json_string(f, openblas_get_corename());
  fprintf(f, ",\"libThreads\":%d", openblas_get_num_threads());
}

static void peer_gemm(char ta, char tb, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc) {
  cblas_sgemm(CblasRowMajor, ta == 'T' ? CblasTrans : CblasNoTrans, tb == 'T' ? CblasTrans : CblasNoTrans, (blasint)m,
              (blasint)n, (blasint)k, 1.0f, a, (blasint)lda, b, (blasint)ldb, 0.0f, c, (blasint)ldc);
}
