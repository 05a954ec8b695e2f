/*
 * Shared driver of the C GEMM peers (gemm_openblas.c, gemm_dnnl.c): a small
 * line protocol on stdin/stdout so the bench can keep one process per peer and
 * thread count alive and interleave its requests with tensorgrad's own runs.
 *
 *   usage: <peer> <threads>
 *   stdout, first line: {"ready":true,"peer":...,"threads":N, <peer info>}
 *   stdin, one request per line:
 *     gemm <transA N|T> <transB N|T> <M> <N> <K> <minTimeS> <minReps> <warmTimeS>
 *   stdout, one JSON line per request:
 *     {"median_s":...,"min_s":...,"reps":...}  or  {"error":"..."}
 *   EOF or "quit" ends the process.
 *
 * Matrices are row-major: op(A) is (M,K), op(B) is (K,N), C is (M,N); a transposed
 * operand is stored transposed, (K,M) for A and (N,K) for B, and passed with the
 * transpose flag, as a backward pass does. An adapter includes this header first
 * and then defines the four hooks declared below.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The hooks each adapter defines. */
static const char *peer_name(void);
static void peer_setup(int threads);
/* Writes extra `,"key":value` members of the ready line (version, ...). */
static void peer_info(FILE *f);
static void peer_gemm(char ta, char tb, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc);

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *alloc_random(size_t n, unsigned *state) {
  float *p = NULL;
  if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)) != 0) return NULL;
  for (size_t i = 0; i < n; i++) {
    *state = *state * 1664525u + 1013904223u;
    p[i] = (float)((*state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
  }
  return p;
}

/* Writes s as a JSON string body (quotes and control characters escaped). */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

#define MAX_REPS 100000

static void serve_gemm(char ta, char tb, long m, long n, long k, double min_time, long min_reps, double warm_time) {
  unsigned state = 12345u;
  float *a = alloc_random((size_t)m * (size_t)k, &state);
  float *b = alloc_random((size_t)k * (size_t)n, &state);
  float *c = alloc_random((size_t)m * (size_t)n, &state);
  double *samples = malloc(sizeof(double) * MAX_REPS);
  if (!a || !b || !c || !samples) {
    printf("{\"error\":\"out of memory for %ldx%ldx%ld\"}\n", m, n, k);
  } else {
    long lda = ta == 'T' ? m : k;
    long ldb = tb == 'T' ? k : n;
    double t0 = now_s();
    long warm = 0;
    do {
      peer_gemm(ta, tb, m, n, k, a, lda, b, ldb, c, n);
      warm++;
    } while (now_s() - t0 < warm_time);
    long reps = 0;
    double total = 0;
    while (reps < MAX_REPS && (reps < min_reps || total < min_time)) {
      double s = now_s();
      peer_gemm(ta, tb, m, n, k, a, lda, b, ldb, c, n);
      double dt = now_s() - s;
      samples[reps++] = dt;
      total += dt;
    }
    qsort(samples, (size_t)reps, sizeof(double), cmp_double);
    double median = reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
    printf("{\"median_s\":%.9g,\"min_s\":%.9g,\"reps\":%ld,\"warmup\":%ld}\n", median, samples[0], reps, warm);
  }
  fflush(stdout);
  free(a);
  free(b);
  free(c);
  free(samples);
}

int main(int argc, char **argv) {
  if (argc < 2 || atoi(argv[1]) < 1) {
    fprintf(stderr, "usage: %s <threads>  (requests on stdin, see peer_common.h)\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  peer_setup(threads);
  printf("{\"ready\":true,\"peer\":");
  json_string(stdout, peer_name());
  printf(",\"threads\":%d", threads);
  peer_info(stdout);
  printf("}\n");
  fflush(stdout);

  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    char cmd[16], ta, tb;
    long m, n, k, min_reps;
    double min_time, warm_time;
    if (strncmp(line, "quit", 4) == 0) break;
    if (sscanf(line, "%15s %c %c %ld %ld %ld %lf %ld %lf", cmd, &ta, &tb, &m, &n, &k, &min_time, &min_reps, &warm_time) != 9 ||
        strcmp(cmd, "gemm") != 0 || (ta != 'N' && ta != 'T') || (tb != 'N' && tb != 'T') || m < 1 || n < 1 || k < 1) {
      printf("{\"error\":\"bad request\"}\n");
      fflush(stdout);
      continue;
    }
    serve_gemm(ta, tb, m, n, k, min_time, min_reps, warm_time);
  }
  return 0;
}
