#include "isa.h"

#include <cstdlib>
#include <string>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tg::cpu {

namespace {

// Linux hands out AMX's 8 KiB of per-thread tile data only to a process that asks
// (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA; the grant covers all its
// threads); a tile instruction without it is a fatal signal. Asked once, at
// detection. The request's own answer decides: ARCH_GET_XCOMP_PERM under-reports
// the grant on some kernels (DESIGN.md, section 5). Elsewhere AMX stays off.
bool amx_permission_granted() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  unsigned eax, ebx, ecx, edx;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
  const unsigned max_leaf = eax;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  f.f16c = (ecx >> 29) & 1;
  const bool osxsave = (ecx >> 27) & 1;
  if (max_leaf < 7) return f;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
  f.avx512fp16 = (edx >> 23) & 1;
  const bool amx_cpu = ((edx >> 22) & 1) && ((edx >> 24) & 1);  // AMX-BF16 and AMX-TILE
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(1));
  f.avx512bf16 = (eax >> 5) & 1;
  // the OS enables the tile configuration and data (XCR0 bits 17 and 18) in XSAVE
  unsigned xcr0 = 0, xcr0_hi = 0;
  if (osxsave) __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_hi) : "c"(0));
  const bool amx_os = ((xcr0 >> 17) & 3) == 3;
  f.amx_bf16 = amx_cpu && amx_os && amx_permission_granted();
#endif
  return f;
}

const IsaKernels kGeneric = {"generic", generic::gemm_tiles, generic::gemm<float>, generic::gemm<double>,
                             generic::gemm<half>, generic::gemm<bfloat16>};
const IsaKernels kAvx2 = {"avx2", avx2::gemm_tiles, avx2::gemm<float>, avx2::gemm<double>,
                             avx2::gemm<half>, avx2::gemm<bfloat16>};
const IsaKernels kAvx512 = {"avx512", avx512::gemm_tiles, avx512::gemm<float>, avx512::gemm<double>,
                             avx512::gemm<half>, avx512::gemm<bfloat16>};
// AVX-512's kernels, with bfloat16 GEMMs on AVX512-BF16 dot products or on AMX tiles
// instead of widened to fp32
const IsaKernels kAvx512Bf16 = {"avx512bf16", avx512::gemm_tiles, avx512::gemm<float>, avx512::gemm<double>,
                                avx512::gemm<half>, avx512bf16::gemm<bfloat16>};
const IsaKernels kAmx = {"amx", avx512::gemm_tiles, avx512::gemm<float>, avx512::gemm<double>,
                         avx512::gemm<half>, amx::gemm<bfloat16>};

bool has_avx512(const CpuFeatures& f) {
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c;
}
bool has_avx2(const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c; }
bool has_avx512bf16(const CpuFeatures& f) { return has_avx512(f) && f.avx512bf16; }
bool has_amx(const CpuFeatures& f) { return has_avx512(f) && f.amx_bf16; }

// TENSORGRAD_ISA=generic|avx2|avx512|avx512bf16|amx caps the choice (to test or time
// each path on one machine: avx512 keeps bfloat16 on the widening path); it never
// selects an ISA the CPU lacks. Other values are ignored.
int isa_cap() {
  const char* env = std::getenv("TENSORGRAD_ISA");
  if (env == nullptr) return 4;
  const std::string v(env);
  if (v == "generic") return 0;
  if (v == "avx2") return 1;
  if (v == "avx512") return 2;
  if (v == "avx512bf16") return 3;
  return 4;
}

const IsaKernels* best() {
  const CpuFeatures& f = cpu_features();
  const int cap = isa_cap();
  if (cap >= 4 && has_amx(f)) return &kAmx;
  if (cap >= 3 && has_avx512bf16(f)) return &kAvx512Bf16;
  if (cap >= 2 && has_avx512(f)) return &kAvx512;
  if (cap >= 1 && has_avx2(f)) return &kAvx2;
  return &kGeneric;
}

const IsaKernels*& chosen() {
  static const IsaKernels* k = best();
  return k;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const IsaKernels& isa_kernels() { return *chosen(); }

bool select_isa(const std::string& name) {
  const CpuFeatures& f = cpu_features();
  if (name == "generic") chosen() = &kGeneric;
  else if (name == "avx2" && has_avx2(f)) chosen() = &kAvx2;
  else if (name == "avx512" && has_avx512(f)) chosen() = &kAvx512;
  else if (name == "avx512bf16" && has_avx512bf16(f)) chosen() = &kAvx512Bf16;
  else if (name == "amx" && has_amx(f)) chosen() = &kAmx;
  else return false;
  return true;
}

}  // namespace tg::cpu
