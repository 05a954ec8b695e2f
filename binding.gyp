{
  # node-gyp build of the CPU addon: the fallback when no prebuilt binary fits.
  # -fno-math-errno: nothing reads errno, and setting it keeps sqrt out of vectorized loops.
  # Kernel files for AVX2, AVX-512, AVX512-BF16 and AMX live in their own static
  # libraries so only they get those flags; isa.cc chooses among them at load.
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-Wall", "-Wno-sign-compare", "-Wno-unused-function"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags!": ["-fno-exceptions"],
    "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3"]
    }
  },
  "targets": [
    {
      "target_name": "tg_isa_avx2",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx2.cc", "native/cpu/conv_direct_avx2.cc"],
      "conditions": [
        ["target_arch=='x64'", {"cflags_cc": ["-mavx2", "-mfma", "-mf16c"]}]
      ]
    },
    {
      "target_name": "tg_isa_avx512",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx512.cc", "native/cpu/conv_direct_avx512.cc"],
      "conditions": [
        ["target_arch=='x64'", {"cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mf16c", "-mprefer-vector-width=512"]}]
      ]
    },
    {
      "target_name": "tg_isa_avx512bf16",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx512bf16.cc"],
      "conditions": [
        ["target_arch=='x64'", {"cflags_cc": ["-mavx512bf16", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mf16c", "-mprefer-vector-width=512"]}]
      ]
    },
    {
      "target_name": "tg_isa_amx",
      "type": "static_library",
      "sources": ["native/cpu/gemm_amx.cc"],
      "conditions": [
        ["target_arch=='x64'", {"cflags_cc": ["-mamx-tile", "-mamx-bf16", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mf16c", "-mprefer-vector-width=512"]}]
      ]
    },
    {
      "target_name": "tensorgrad",
      "dependencies": ["tg_isa_avx2", "tg_isa_avx512", "tg_isa_avx512bf16", "tg_isa_amx"],
      "sources": [
        "native/addon.cc",
        "native/storage.cc",
        "native/allocator.cc",
        "native/bindings.cc",
        "native/dispatch.cc",
        "native/cpu/threadpool.cc",
        "native/cpu/isa.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/copy.cc",
        "native/cpu/indexing.cc",
        "native/cpu/reduce.cc",
        "native/cpu/cross_entropy.cc",
        "native/cpu/gemm.cc",
        "native/cpu/gemm_generic.cc",
        "native/cpu/gemm_plan.cc",
        "native/cpu/gemm_scratch.cc",
        "native/cpu/gemm_reference.cc",
        "native/cpu/random.cc",
        "native/cpu/conv.cc",
        "native/cpu/pool.cc",
        "native/cpu/conv_half.cc",
        "native/cpu/optim.cc",
        "native/cpu/amp.cc",
        "cuda/stub.cc"
      ],
      "libraries": ["-lpthread"]
    }
  ]
}
