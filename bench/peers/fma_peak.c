/*
 * The machine's fp32 FMA peak: each thread runs independent chains of vector
 * FMAs on registers only (no loads or stores in the loop), enough chains to
 * cover the FMA latency on two pipes, so the count of FMAs retired per second
 * is the arithmetic ceiling a GEMM can approach.
 *
 *   usage: fma_peak <threads> <seconds>
 *   prints {"gflops":...,"threads":N,"vectorBits":...,"fma":true|false,"trials":...}
 *
 * The bench compiles it with -O2 and the widest flags the CPU has (-mavx512f
 * -mfma, or -mavx2 -mfma); without FMA it counts a multiply and an add.
 * Threads start together at a barrier; the best of a few trials is reported.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
#define LANES (VBYTES / 4)
#define CHAINS 12

typedef float vf __attribute__((vector_size(VBYTES)));

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;
static pthread_barrier_t start_barrier;

/* CHAINS independent acc = acc * x + y per iteration, written out one variable per
   chain so that -O2 keeps them all in registers; -ffp-contract (GCC's default in
   GNU C) fuses each into one FMA when the target has FMA. */
#define CHAIN_ALL(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
#define DECLARE(c) vf acc##c = x * (seed + (float)(c));
#define STEP(c) acc##c = acc##c * x + y;
#define SUM(c) total += acc##c;

static float fma_loop(long iters, float seed) {
  vf x, y;
  for (int l = 0; l < LANES; l++) {
    x[l] = 0.999999f;
    y[l] = 1e-6f * (float)(l + 1);
  }
  CHAIN_ALL(DECLARE)
  for (long i = 0; i < iters; i++) {
    /* keeps x and y opaque so the compiler cannot fold the chains */
    __asm__ volatile("" : "+x"(x), "+x"(y));
    CHAIN_ALL(STEP)
  }
  vf total = y;
  CHAIN_ALL(SUM)
  float s = 0;
  for (int l = 0; l < LANES; l++) s += total[l];
  return s;
}

static long g_iters;

static void *worker(void *arg) {
  pthread_barrier_wait(&start_barrier);
  sink = fma_loop(g_iters, (float)(long)arg);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3 || atoi(argv[1]) < 1 || atof(argv[2]) <= 0) {
    fprintf(stderr, "usage: %s <threads> <seconds>\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  double seconds = atof(argv[2]);
  /* calibrate on one thread: iterations that take about `seconds` */
  long iters = 1 << 16;
  for (;;) {
    double t0 = now_s();
    sink = fma_loop(iters, 1.0f);
    double dt = now_s() - t0;
    if (dt > 0.02) {
      iters = (long)((double)iters * seconds / dt) + 1;
      break;
    }
    iters *= 4;
  }
  g_iters = iters;
  const int trials = 3;
  double best = 0;
  pthread_t *tids = malloc(sizeof(pthread_t) * (size_t)threads);
  for (int t = 0; t < trials; t++) {
    pthread_barrier_init(&start_barrier, NULL, (unsigned)threads + 1);
    for (long i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker, (void *)(i + 1));
    pthread_barrier_wait(&start_barrier);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    double dt = now_s() - t0;
    pthread_barrier_destroy(&start_barrier);
    double gflops = 2.0 * CHAINS * LANES * (double)iters * threads / dt / 1e9;
    if (gflops > best) best = gflops;
  }
  free(tids);
#ifdef __FMA__
  const char *fma = "true";
#else
  const char *fma = "false";
#endif
  printf("{\"gflops\":%.6g,\"threads\":%d,\"vectorBits\":%d,\"fma\":%s,\"trials\":%d,\"secondsPerTrial\":%.3g}\n", best,
         threads, VBYTES * 8, fma, trials, seconds);
  return 0;
}
