// One N-API function per op family: unwrap storages, re-check sizes against the
// bytes each storage really holds, build the kernel arguments, call dispatch.
#include "bindings.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "allocator.h"
#include "cpu/isa.h"
#include "cpu/threadpool.h"
#include "dispatch.h"
#include "iter.h"
#include "napi_util.h"

namespace tg {

namespace {

using Strides = std::vector<int64_t>;

void require_extent(const Args& args, size_t i, const Storage& s, int64_t extent) {
  REQUIRE(args.env(), extent >= 0 && extent <= s.numel(),
          args.where(i) + " is too small: the op reads " + std::to_string(extent) +
              " elements but it holds " + std::to_string(s.numel()));
}

void require_same(const Args& args, size_t i, const Storage& s, const Storage& ref) {
  REQUIRE_TYPE(args.env(), s.dtype() == ref.dtype(),
               args.where(i) + " has dtype " + dtype_name(s.dtype()) + ", expected " +
                   dtype_name(ref.dtype()));
  REQUIRE_TYPE(args.env(), s.device() == ref.device(),
               args.where(i) + " is on another device than the output");
}

int64_t product(const Strides& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Strides contiguous(const Strides& shape) {
  Strides s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

void require_shape(const Args& args, size_t i, const Strides& shape) {
  for (int64_t d : shape) REQUIRE(args.env(), d >= 0, args.where(i) + " has a negative size");
}

void require_rank(const Args& args, size_t i, const Strides& v, size_t rank) {
  REQUIRE(args.env(), v.size() == rank,
          args.where(i) + " has " + std::to_string(v.size()) + " entries, expected " +
              std::to_string(rank));
}

// upload(dst, typedArray): converts a Float64/Float32/Int32/Uint8 array into dst's dtype
Napi::Value Upload(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "upload", 2);
    Storage& dst = args.storage(0);
    REQUIRE_TYPE(args.env(), info[1].IsTypedArray(), args.where(1) + " must be a typed array");
    Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
    DType src_t;
    switch (ta.TypedArrayType()) {
      case napi_float64_array: src_t = DType::k_float64; break;
      case napi_float32_array: src_t = DType::k_float32; break;
      case napi_int32_array: src_t = DType::k_int32; break;
      case napi_uint8_array: src_t = DType::k_uint8; break;
      default: throw Napi::TypeError::New(args.env(), args.where(1) + " has an unsupported element type");
    }
    int64_t n = static_cast<int64_t>(ta.ElementLength());
    require_extent(args, 0, dst, n);
    const char* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (dst.device() == Device::kCpu) {
      dispatch::cast(Device::kCpu, src_t, src, dst.dtype(), dst.data(), n);
    } else {
      std::vector<char> host(n * dtype_size(dst.dtype()));
      dispatch::cast(Device::kCpu, src_t, src, dst.dtype(), host.data(), n);
      cuda::copy_to_device(dst.data(), host.data(), host.size());
    }
    return args.env().Undefined();
  });
}

// download(src, numel): a new typed array; half types widen to Float32Array, bool to Uint8Array
// A typed array holding n elements of dtype t read from host memory.
Napi::Value host_typed_array(Napi::Env env, DType t, const void* from, int64_t n) {
  auto make = [&](DType out_t, auto array) {
    dispatch::cast(Device::kCpu, t, from, out_t, array.Data(), n);
    return array;
  };
  switch (t) {
    case DType::k_float64: return make(DType::k_float64, Napi::Float64Array::New(env, n));
    case DType::k_int32: return make(DType::k_int32, Napi::Int32Array::New(env, n));
    case DType::k_uint8:
    case DType::k_bool: return make(DType::k_uint8, Napi::Uint8Array::New(env, n));
    default: return make(DType::k_float32, Napi::Float32Array::New(env, n));
  }
}

Napi::Value Download(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "download", 2);
    Storage& src = args.storage(0);
    int64_t n = args.integer(1);
    require_extent(args, 0, src, n);
    const void* from = src.data();
    std::vector<char> host;
    if (src.device() == Device::kCuda) {
      host.resize(n * dtype_size(src.dtype()));
      cuda::copy_to_host(host.data(), src.data(), host.size());
      from = host.data();
    }
    return host_typed_array(args.env(), src.dtype(), from, n);
  });
}

// The wait for a CUDA storage's values on a worker thread. The call snapshots the
// values into a device copy on the stream at once, so kernels queued after it (an
// optimizer step writing in place) cannot change what the promise returns; the worker
// waits for the stream and copies the snapshot to the host, and the main thread only
// converts.
class CudaDownload : public Napi::AsyncWorker {
 public:
  CudaDownload(Napi::Env env, const Storage& src, int64_t n)
      : Napi::AsyncWorker(env, "tensorgrad.downloadAsync"),
        deferred_(Napi::Promise::Deferred::New(env)),
        dtype_(src.dtype()),
        n_(n),
        host_(static_cast<size_t>(n) * dtype_size(src.dtype())) {
    snapshot_ = cuda::alloc(host_.size());
    try {
      cuda::copy_device(snapshot_, src.data(), host_.size());
    } catch (...) {
      cuda::free(snapshot_, host_.size());
      throw;
    }
  }
  ~CudaDownload() override { cuda::free(snapshot_, host_.size()); }  // stream-ordered reuse
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      cuda::copy_to_host(host_.data(), snapshot_, host_.size());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(host_typed_array(Env(), dtype_, host_.data(), n_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  DType dtype_;
  int64_t n_;
  std::vector<char> host_;
  void* snapshot_ = nullptr;
};

// downloadAsync(src, numel): a promise of download(src, numel) as of this call; for a
// CUDA storage the wait for its kernels happens off the main thread (CPU storages
// resolve at once).
Napi::Value DownloadAsync(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "downloadAsync", 2);
    Storage& src = args.storage(0);
    int64_t n = args.integer(1);
    require_extent(args, 0, src, n);
    if (src.device() == Device::kCpu || n == 0) {
      auto deferred = Napi::Promise::Deferred::New(args.env());
      deferred.Resolve(host_typed_array(args.env(), src.dtype(), src.data(), n));
      return deferred.Promise();
    }
    auto* worker = new CudaDownload(args.env(), src, n);
    Napi::Promise p = worker->promise();
    worker->Queue();  // the worker deletes itself when done
    return p;
  });
}

// fill(dst, numel, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "fill", 3);
    Storage& dst = args.storage(0);
    int64_t n = args.integer(1);
    require_extent(args, 0, dst, n);
    dispatch::fill(dst.device(), dst.dtype(), dst.data(), n, args.number(2));
    return args.env().Undefined();
  });
}

// cast(src, dst, numel)
Napi::Value Cast(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "cast", 3);
    Storage& src = args.storage(0);
    Storage& dst = args.storage(1);
    int64_t n = args.integer(2);
    require_extent(args, 0, src, n);
    require_extent(args, 1, dst, n);
    REQUIRE_TYPE(args.env(), src.device() == dst.device(), "cast: storages on different devices");
    dispatch::cast(src.device(), src.dtype(), src.data(), dst.dtype(), dst.data(), n);
    return args.env().Undefined();
  });
}

// transfer(src, dst): copies bytes between devices (same dtype and size)
Napi::Value Transfer(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "transfer", 2);
    Storage& src = args.storage(0);
    Storage& dst = args.storage(1);
    REQUIRE_TYPE(args.env(), src.dtype() == dst.dtype(), "transfer: dtypes differ");
    REQUIRE(args.env(), src.bytes() == dst.bytes(), "transfer: sizes differ");
    if (src.device() == Device::kCpu && dst.device() == Device::kCpu)
      std::memcpy(dst.data(), src.data(), src.bytes());
    else if (src.device() == Device::kCpu)
      cuda::copy_to_device(dst.data(), src.data(), src.bytes());
    else if (dst.device() == Device::kCpu)
      cuda::copy_to_host(dst.data(), src.data(), src.bytes());
    else
      cuda::copy_device(dst.data(), src.data(), src.bytes());
    return args.env().Undefined();
  });
}

// unary(op, x, y, numel, a, b)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "unary", 6);
    int64_t op = args.integer(0);
    REQUIRE(args.env(), op < static_cast<int64_t>(UnaryOp::kCount), "unary: unknown op code");
    Storage& x = args.storage(1);
    Storage& y = args.storage(2);
    require_same(args, 1, x, y);
    int64_t n = args.integer(3);
    require_extent(args, 1, x, n);
    require_extent(args, 2, y, n);
    REQUIRE_TYPE(args.env(), dtype_is_float(x.dtype()) || kUnaryIntegerOk[op],
                 std::string("unary: this op needs a floating-point dtype, got ") + dtype_name(x.dtype()));
    UnaryParams p{args.number(4), args.number(5)};
    dispatch::unary(x.device(), x.dtype(), static_cast<UnaryOp>(op), x.data(), y.data(), n, p);
    return args.env().Undefined();
  });
}

// Shared by binary and compare: (op, out, a, b, shape, aStrides, bStrides)
struct BinaryCall {
  int64_t op;
  Storage *out, *a, *b;
  Iter it;
};
BinaryCall read_binary(const Args& args, int64_t op_count) {
  BinaryCall c;
  c.op = args.integer(0);
  REQUIRE(args.env(), c.op < op_count, std::string(args.fn()) + ": unknown op code");
  c.out = &args.storage(1);
  c.a = &args.storage(2);
  c.b = &args.storage(3);
  require_same(args, 3, *c.b, *c.a);
  REQUIRE_TYPE(args.env(), c.a->device() == c.out->device(), args.where(2) + " is on another device");
  Strides shape = args.ints(4), sa = args.ints(5), sb = args.ints(6);
  require_shape(args, 4, shape);
  require_rank(args, 5, sa, shape.size());
  require_rank(args, 6, sb, shape.size());
  Strides so = contiguous(shape);
  c.it = make_iter(shape, {&so, &sa, &sb});
  require_extent(args, 1, *c.out, product(shape));
  require_extent(args, 2, *c.a, iter_extent(c.it, 1));
  require_extent(args, 3, *c.b, iter_extent(c.it, 2));
  return c;
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "binary", 7);
    BinaryCall c = read_binary(args, static_cast<int64_t>(BinaryOp::kCount));
    require_same(args, 1, *c.out, *c.a);
    REQUIRE_TYPE(args.env(), dtype_is_float(c.a->dtype()) || kBinaryIntegerOk[c.op],
                 std::string("binary: this op needs a floating-point dtype, got ") +
                     dtype_name(c.a->dtype()));
    dispatch::binary(c.a->device(), c.a->dtype(), static_cast<BinaryOp>(c.op), c.it, c.out->data(),
                     c.a->data(), c.b->data());
    return args.env().Undefined();
  });
}

Napi::Value Compare(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "compare", 7);
    BinaryCall c = read_binary(args, static_cast<int64_t>(CompareOp::kCount));
    REQUIRE_TYPE(args.env(), c.out->dtype() == DType::k_bool, "compare: output must be bool");
    dispatch::compare(c.a->device(), c.a->dtype(), static_cast<CompareOp>(c.op), c.it,
                      c.out->data(), c.a->data(), c.b->data());
    return args.env().Undefined();
  });
}

// where(out, cond, a, b, shape, condStrides, aStrides, bStrides)
Napi::Value Where(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "where", 8);
    Storage& out = args.storage(0);
    Storage& cond = args.storage(1);
    Storage& a = args.storage(2);
    Storage& b = args.storage(3);
    REQUIRE_TYPE(args.env(), cond.dtype() == DType::k_bool, "where: condition must be bool");
    REQUIRE_TYPE(args.env(), cond.device() == out.device(), "where: condition on another device");
    require_same(args, 2, a, out);
    require_same(args, 3, b, out);
    Strides shape = args.ints(4), sc = args.ints(5), sa = args.ints(6), sb = args.ints(7);
    require_shape(args, 4, shape);
    require_rank(args, 5, sc, shape.size());
    require_rank(args, 6, sa, shape.size());
    require_rank(args, 7, sb, shape.size());
    Strides so = contiguous(shape);
    Iter it = make_iter(shape, {&so, &sc, &sa, &sb});
    require_extent(args, 0, out, product(shape));
    require_extent(args, 1, cond, iter_extent(it, 1));
    require_extent(args, 2, a, iter_extent(it, 2));
    require_extent(args, 3, b, iter_extent(it, 3));
    dispatch::where(out.device(), out.dtype(), it, out.data(), cond.data(), a.data(), b.data());
    return args.env().Undefined();
  });
}

// copy(dst, dstOffset, dstStrides, src, srcOffset, srcStrides, shape)
Napi::Value Copy(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "copy", 7);
    Storage& dst = args.storage(0);
    Storage& src = args.storage(3);
    require_same(args, 3, src, dst);
    Strides sd = args.ints(2), ss = args.ints(5), shape = args.ints(6);
    require_shape(args, 6, shape);
    require_rank(args, 2, sd, shape.size());
    require_rank(args, 5, ss, shape.size());
    Iter it = make_iter(shape, {&sd, &ss});
    it.offset[0] = args.integer(1);
    it.offset[1] = args.integer(4);
    require_extent(args, 0, dst, iter_extent(it, 0));
    require_extent(args, 3, src, iter_extent(it, 1));
    dispatch::copy_strided(dst.device(), dst.dtype(), it, dst.data(), src.data());
    return args.env().Undefined();
  });
}

// tri(src, dst, batch, rows, cols, k, upper)
Napi::Value Tri(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "tri", 7);
    Storage& src = args.storage(0);
    Storage& dst = args.storage(1);
    require_same(args, 0, src, dst);
    int64_t batch = args.integer(2), rows = args.integer(3), cols = args.integer(4);
    int64_t k = args.integer(5, INT64_MIN / 2);
    require_extent(args, 0, src, batch * rows * cols);
    require_extent(args, 1, dst, batch * rows * cols);
    dispatch::tri(src.device(), src.dtype(), src.data(), dst.data(), batch, rows, cols, k,
                  args.boolean(6));
    return args.env().Undefined();
  });
}

// Checks every index value against the dimension it indexes. CUDA indices are
// read back for the check (a synchronization), as a user's index tensor must never
// steer a kernel out of bounds.
void require_indices(const Args& args, const char* op, const Storage& index, int64_t n,
                     int64_t limit, int dim) {
  REQUIRE_TYPE(args.env(), index.dtype() == DType::k_int32,
               std::string(op) + ": index must be int32, got " + dtype_name(index.dtype()));
  if (n == 0) return;
  std::vector<int32_t> host;
  const int32_t* p = static_cast<const int32_t*>(index.data());
  if (index.device() == Device::kCuda) {
    host.resize(static_cast<size_t>(n));
    cuda::copy_to_host(host.data(), index.data(), host.size() * sizeof(int32_t));
    p = host.data();
  }
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(args.env(), p[i] >= 0 && p[i] < limit,
            std::string(op) + ": index " + std::to_string(p[i]) + " is out of range for dimension " +
                std::to_string(dim) + " with size " + std::to_string(limit));
}

// indexSelect(src, index, out, outer, srcDim, nIndex, inner, dim)
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "indexSelect", 8);
    Storage& src = args.storage(0);
    Storage& index = args.storage(1);
    Storage& out = args.storage(2);
    require_same(args, 2, out, src);
    int64_t outer = args.integer(3), src_dim = args.integer(4), n = args.integer(5),
            inner = args.integer(6);
    require_extent(args, 0, src, outer * src_dim * inner);
    require_extent(args, 1, index, n);
    require_extent(args, 2, out, outer * n * inner);
    require_indices(args, "indexSelect", index, n, src_dim, static_cast<int>(args.integer(7)));
    dispatch::index_select(src.device(), src.dtype(), src.data(),
                           static_cast<const int32_t*>(index.data()), out.data(), outer, src_dim, n,
                           inner);
    return args.env().Undefined();
  });
}

// Reads (dim, indexShape, srcShape, outShape) for gather/scatterAdd; every tensor contiguous.
IndexArgs read_index_args(const Args& args, size_t first, Strides& src_shape, Strides& out_shape) {
  IndexArgs a;
  int64_t dim = args.integer(first);
  Strides ishape = args.ints(first + 1);
  src_shape = args.ints(first + 2);
  out_shape = args.ints(first + 3);
  require_shape(args, first + 1, ishape);
  require_rank(args, first + 2, src_shape, ishape.size());
  require_rank(args, first + 3, out_shape, ishape.size());
  REQUIRE(args.env(), dim < static_cast<int64_t>(ishape.size()) || (ishape.empty() && dim == 0),
          args.where(first) + " is out of range");
  a.ndim = static_cast<int>(ishape.size());
  a.dim = static_cast<int>(dim);
  Strides ss = contiguous(src_shape), so = contiguous(out_shape);
  for (int d = 0; d < a.ndim; ++d) {
    a.index_shape[d] = ishape[d];
    a.src_strides[d] = ss[d];
    a.out_strides[d] = so[d];
  }
  return a;
}

// gather(src, index, out, dim, indexShape, srcShape, outShape)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "gather", 7);
    Storage& src = args.storage(0);
    Storage& index = args.storage(1);
    Storage& out = args.storage(2);
    require_same(args, 2, out, src);
    Strides src_shape, out_shape;
    IndexArgs a = read_index_args(args, 3, src_shape, out_shape);
    Strides ishape(a.index_shape, a.index_shape + a.ndim);
    int64_t n = product(ishape);
    for (int d = 0; d < a.ndim; ++d)
      REQUIRE(args.env(), (d == a.dim || ishape[d] <= src_shape[d]) && out_shape[d] == ishape[d],
              "gather: index shape does not fit the source");
    require_extent(args, 0, src, product(src_shape));
    require_extent(args, 1, index, n);
    require_extent(args, 2, out, n);
    // a 0-d gather reads one element: its index must be 0
    require_indices(args, "gather", index, n, a.ndim > 0 ? src_shape[a.dim] : 1, a.dim);
    dispatch::gather(src.device(), src.dtype(), a, src.data(), static_cast<const int32_t*>(index.data()),
                     out.data());
    return args.env().Undefined();
  });
}

// scatterAdd(out, index, src, dim, indexShape, srcShape, outShape): out += scatter(src)
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "scatterAdd", 7);
    Storage& out = args.storage(0);
    Storage& index = args.storage(1);
    Storage& src = args.storage(2);
    require_same(args, 2, src, out);
    Strides src_shape, out_shape;
    IndexArgs a = read_index_args(args, 3, src_shape, out_shape);
    Strides ishape(a.index_shape, a.index_shape + a.ndim);
    int64_t n = product(ishape);
    for (int d = 0; d < a.ndim; ++d)
      REQUIRE(args.env(), ishape[d] <= src_shape[d] && (d == a.dim || ishape[d] <= out_shape[d]),
              "scatterAdd: index shape does not fit the source or output");
    require_extent(args, 0, out, product(out_shape));
    require_extent(args, 1, index, n);
    require_extent(args, 2, src, product(src_shape));
    require_indices(args, "scatterAdd", index, n, a.ndim > 0 ? out_shape[a.dim] : 1, a.dim);
    dispatch::scatter_add(out.device(), out.dtype(), a, out.data(),
                          static_cast<const int32_t*>(index.data()), src.data());
    return args.env().Undefined();
  });
}

// reduce(op, x, y, indices | null, outer, r, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "reduce", 7);
    int64_t op = args.integer(0);
    REQUIRE(args.env(), op < static_cast<int64_t>(ReduceOp::kCount), "reduce: unknown op code");
    Storage& x = args.storage(1);
    Storage& y = args.storage(2);
    Storage* idx = args.optional_storage(3);
    require_same(args, 2, y, x);
    int64_t outer = args.integer(4), r = args.integer(5), inner = args.integer(6);
    require_extent(args, 1, x, outer * r * inner);
    require_extent(args, 2, y, outer * inner);
    if (idx) {
      REQUIRE_TYPE(args.env(), idx->dtype() == DType::k_int32, "reduce: indices must be int32");
      require_extent(args, 3, *idx, outer * inner);
      REQUIRE(args.env(), r > 0, "reduce: max/min of an empty dimension has no index");
    }
    dispatch::reduce(x.device(), x.dtype(), static_cast<ReduceOp>(op), x.data(), y.data(),
                     idx ? static_cast<int32_t*>(idx->data()) : nullptr, outer, r, inner);
    return args.env().Undefined();
  });
}

// softmax(x, y, outer, r, inner, log)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "softmax", 6);
    Storage& x = args.storage(0);
    Storage& y = args.storage(1);
    require_same(args, 1, y, x);
    int64_t outer = args.integer(2), r = args.integer(3), inner = args.integer(4);
    require_extent(args, 0, x, outer * r * inner);
    require_extent(args, 1, y, outer * r * inner);
    dispatch::softmax(x.device(), x.dtype(), x.data(), y.data(), outer, r, inner, args.boolean(5));
    return args.env().Undefined();
  });
}

// What both cross-entropy calls begin with: (x, target, weight | null, outer, c, inner,
// ignoreIndex, smoothing), with x (outer, c, inner) floating logits, target (outer, inner)
// int32 and weight c values in x's dtype, all on x's device.
struct CrossEntropyCall {
  Storage* x;
  Storage* target;
  Storage* weight;
  CrossEntropyArgs a;
  int64_t positions() const { return a.outer * a.inner; }
  const void* weight_data() const { return weight ? weight->data() : nullptr; }
  // lse is kept in the compute type: float32, or float64 for float64 logits
  DType lse_dtype() const { return x->dtype() == DType::k_float64 ? DType::k_float64 : DType::k_float32; }
};

CrossEntropyCall read_cross_entropy(const Args& args) {
  Napi::Env env = args.env();
  CrossEntropyCall k;
  k.x = &args.storage(0);
  k.target = &args.storage(1);
  k.weight = args.optional_storage(2);
  k.a.outer = args.integer(3);
  k.a.c = args.integer(4);
  k.a.inner = args.integer(5);
  k.a.ignore_index = args.integer(6, -(int64_t(1) << 53));
  k.a.smoothing = args.number(7);
  REQUIRE(env, k.a.smoothing >= 0 && k.a.smoothing <= 1, args.where(7) + " must be in [0, 1]");
  REQUIRE_TYPE(env, dtype_is_float(k.x->dtype()),
               args.where(0) + " must have a floating-point dtype, got " + dtype_name(k.x->dtype()));
  require_extent(args, 0, *k.x, k.a.outer * k.a.c * k.a.inner);
  REQUIRE_TYPE(env, k.target->dtype() == DType::k_int32,
               args.where(1) + " must be int32, got " + dtype_name(k.target->dtype()));
  REQUIRE_TYPE(env, k.target->device() == k.x->device(), args.where(1) + " is on another device than argument 0");
  require_extent(args, 1, *k.target, k.positions());
  if (k.weight) {
    require_same(args, 2, *k.weight, *k.x);
    require_extent(args, 2, *k.weight, k.a.c);
  }
  return k;
}

// A storage of `dtype` on x's device holding at least one value per position (or n values).
void require_like(const Args& args, size_t i, const Storage& s, const CrossEntropyCall& k, DType dtype, int64_t n) {
  REQUIRE_TYPE(args.env(), s.dtype() == dtype,
               args.where(i) + " has dtype " + dtype_name(s.dtype()) + ", expected " + dtype_name(dtype));
  REQUIRE_TYPE(args.env(), s.device() == k.x->device(), args.where(i) + " is on another device than argument 0");
  require_extent(args, i, s, n);
}

// Every target must be a class in [0, c) or the ignored index. CUDA targets are read back
// (a synchronization): this one check serves as the user's error, so crossEntropy's own
// message is given, naming the smallest target if it is negative, else the largest, with
// ignored targets counted as 0 (as the composed class losses check).
void require_class_targets(const Args& args, const CrossEntropyCall& k) {
  const int64_t n = k.positions();
  if (n == 0) return;
  std::vector<int32_t> host;
  const int32_t* p = static_cast<const int32_t*>(k.target->data());
  if (k.target->device() == Device::kCuda) {
    host.resize(static_cast<size_t>(n));
    cuda::copy_to_host(host.data(), k.target->data(), host.size() * sizeof(int32_t));
    p = host.data();
  }
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = p[i] == k.a.ignore_index ? 0 : p[i];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  REQUIRE(args.env(), lo >= 0 && hi < k.a.c,
          std::string(args.fn()) + ": target class " + std::to_string(lo < 0 ? lo : hi) + " is out of range for " +
              std::to_string(k.a.c) + " classes (ignoreIndex " + std::to_string(k.a.ignore_index) + ")");
}

// crossEntropy(x, target, weight | null, outer, c, inner, ignoreIndex, smoothing, loss, lse,
//              weightUsed | null): loss and weightUsed in x's dtype, lse in its compute type,
// one value per position each
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "crossEntropy", 11);
    const CrossEntropyCall k = read_cross_entropy(args);
    Storage& loss = args.storage(8);
    Storage& lse = args.storage(9);
    Storage* weight_used = args.optional_storage(10);
    require_like(args, 8, loss, k, k.x->dtype(), k.positions());
    require_like(args, 9, lse, k, k.lse_dtype(), k.positions());
    if (weight_used) require_like(args, 10, *weight_used, k, k.x->dtype(), k.positions());
    require_class_targets(args, k);
    dispatch::cross_entropy_forward(k.x->device(), k.x->dtype(), k.a, k.x->data(),
                                    static_cast<const int32_t*>(k.target->data()), k.weight_data(), loss.data(),
                                    lse.data(), weight_used ? weight_used->data() : nullptr);
    return args.env().Undefined();
  });
}

// crossEntropyBackward(x, target, weight | null, outer, c, inner, ignoreIndex, smoothing, lse,
//                      gloss, gx): lse from crossEntropy; gloss one value per position, gx x's
// shape. Targets are not read back again: the kernels count one outside [0, c) as ignored.
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "crossEntropyBackward", 11);
    const CrossEntropyCall k = read_cross_entropy(args);
    Storage& lse = args.storage(8);
    Storage& gloss = args.storage(9);
    Storage& gx = args.storage(10);
    require_like(args, 8, lse, k, k.lse_dtype(), k.positions());
    require_like(args, 9, gloss, k, k.x->dtype(), k.positions());
    require_like(args, 10, gx, k, k.x->dtype(), k.a.outer * k.a.c * k.a.inner);
    dispatch::cross_entropy_backward(k.x->device(), k.x->dtype(), k.a, k.x->data(),
                                     static_cast<const int32_t*>(k.target->data()), k.weight_data(), lse.data(),
                                     gloss.data(), gx.data());
    return args.env().Undefined();
  });
}

// Largest element offset (plus one) a batched matrix operand touches.
int64_t matrix_extent(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  if (rows == 0 || cols == 0 || batch == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

// gemm(ta, tb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch,
//      bias?, activation?): bias (c's dtype, n values or null) and an activation code from
//      gemmActivations are applied to C as it is stored
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "gemm", 17);
    GemmArgs g;
    g.trans_a = args.boolean(0);
    g.trans_b = args.boolean(1);
    g.m = args.integer(2);
    g.n = args.integer(3);
    g.k = args.integer(4);
    g.alpha = args.number(5);
    Storage& a = args.storage(6);
    g.lda = args.integer(7);
    g.stride_a = args.integer(8);
    Storage& b = args.storage(9);
    g.ldb = args.integer(10);
    g.stride_b = args.integer(11);
    g.beta = args.number(12);
    Storage& c = args.storage(13);
    g.ldc = args.integer(14);
    g.stride_c = args.integer(15);
    g.batch = args.integer(16);
    require_same(args, 6, a, c);
    require_same(args, 9, b, c);
    int64_t ar = g.trans_a ? g.k : g.m, ac = g.trans_a ? g.m : g.k;
    int64_t br = g.trans_b ? g.n : g.k, bc = g.trans_b ? g.k : g.n;
    REQUIRE(args.env(), g.lda >= std::max<int64_t>(ac, 1) && g.ldb >= std::max<int64_t>(bc, 1) &&
                            g.ldc >= std::max<int64_t>(g.n, 1),
            "gemm: a leading dimension is smaller than its row");
    require_extent(args, 6, a, matrix_extent(ar, ac, g.lda, g.batch, g.stride_a));
    require_extent(args, 9, b, matrix_extent(br, bc, g.ldb, g.batch, g.stride_b));
    require_extent(args, 13, c, matrix_extent(g.m, g.n, g.ldc, g.batch, g.stride_c));
    if (Storage* bias = args.optional_storage(17)) {
      require_same(args, 17, *bias, c);
      require_extent(args, 17, *bias, g.n);
      g.bias = bias->data();
    }
    if (!info[18].IsUndefined() && !info[18].IsNull()) {
      const int64_t act = args.integer(18);
      REQUIRE(args.env(), act < static_cast<int64_t>(GemmAct::kCount), "gemm: unknown activation");
      g.act = static_cast<GemmAct>(act);
    }
    dispatch::gemm(c.device(), c.dtype(), g, a.data(), b.data(), c.data());
    return args.env().Undefined();
  });
}

// The activation codes gemm() takes, by name, so TypeScript does not repeat them.
Napi::Object gemm_activations(Napi::Env env) {
  Napi::Object t = Napi::Object::New(env);
  int code = 0;
#define TG_NAME(name) t.Set(#name, code++);
  TG_GEMM_ACTIVATIONS(TG_NAME)
#undef TG_NAME
  return t;
}

// random(kind, out, numel, seed, offset, p1, p2)
Napi::Value Random(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "random", 7);
    int64_t kind = args.integer(0);
    REQUIRE(args.env(), kind < static_cast<int64_t>(RandomKind::kCount), "random: unknown kind");
    Storage& out = args.storage(1);
    int64_t n = args.integer(2);
    require_extent(args, 1, out, n);
    REQUIRE_TYPE(args.env(), dtype_is_float(out.dtype()) || kRandomIntegerOk[kind],
                 std::string("random: this distribution needs a floating-point dtype, got ") +
                     dtype_name(out.dtype()));
    uint64_t seed = static_cast<uint64_t>(args.integer(3));
    uint64_t offset = static_cast<uint64_t>(args.integer(4));
    dispatch::random(out.device(), out.dtype(), static_cast<RandomKind>(kind), out.data(), n, seed,
                     offset, args.number(5), args.number(6));
    return args.env().Undefined();
  });
}

// Reads a geometry array of `count` sizes, each in [0, 2^31): the kernels' index
// arithmetic (i * stride + tap * dilation) then cannot overflow int64_t.
Strides geometry(const Args& args, size_t i, size_t count) {
  Strides g = args.ints(i);
  require_rank(args, i, g, count);
  for (int64_t v : g)
    REQUIRE(args.env(), v >= 0 && v <= INT32_MAX, args.where(i) + " has a size outside [0, 2^31)");
  return g;
}

// Elements of a contiguous block with these sizes; a product past 2^62 cannot fit
// any storage, so it is refused before it could wrap around.
int64_t block_extent(const Args& args, std::initializer_list<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    REQUIRE(args.env(), d == 0 || n <= (int64_t(1) << 62) / d,
            std::string(args.fn()) + ": sizes are too large");
    n *= d;
  }
  return n;
}

void require_float(const Args& args, size_t i, const Storage& s) {
  REQUIRE_TYPE(args.env(), dtype_is_float(s.dtype()),
               args.where(i) + " must be a floating-point storage, got " + dtype_name(s.dtype()));
}

// conv2d(kind, a, b, bias | null, out, [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW,
//        padH, padW, dilationH, dilationW, groups])
//   forward: (x, w, bias, y); gradInput: (gy, w, null, gx); gradWeight: (x, gy, null, gw);
//   gradBias: (gy, null, null, gb)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "conv2d", 6);
    int64_t kind = args.integer(0);
    REQUIRE(args.env(), kind < static_cast<int64_t>(ConvKind::kCount), "conv2d: unknown kind");
    const auto k = static_cast<ConvKind>(kind);
    Storage& a = args.storage(1);
    // gradBias reads one operand; every other kind reads two
    Storage& b = k == ConvKind::gradBias ? a : args.storage(2);
    Storage* bias = args.optional_storage(3);
    Storage& out = args.storage(4);
    require_float(args, 4, out);
    require_same(args, 1, a, out);
    require_same(args, 2, b, out);
    Strides g = geometry(args, 5, 16);
    ConvArgs c;
    c.n = g[0], c.c = g[1], c.h = g[2], c.w = g[3], c.oc = g[4], c.kh = g[5], c.kw = g[6];
    c.oh = g[7], c.ow = g[8], c.stride_h = g[9], c.stride_w = g[10], c.pad_h = g[11];
    c.pad_w = g[12], c.dil_h = g[13], c.dil_w = g[14], c.groups = g[15];
    REQUIRE(args.env(), c.kh >= 1 && c.kw >= 1 && c.stride_h >= 1 && c.stride_w >= 1 &&
                            c.dil_h >= 1 && c.dil_w >= 1 && c.groups >= 1,
            "conv2d: kernel size, stride, dilation and groups must be positive");
    REQUIRE(args.env(), c.c % c.groups == 0 && c.oc % c.groups == 0,
            "conv2d: groups must divide the input and output channels");
    const int64_t xn = block_extent(args, {c.n, c.c, c.h, c.w});
    const int64_t wn = block_extent(args, {c.oc, c.c / c.groups, c.kh, c.kw});
    const int64_t yn = block_extent(args, {c.n, c.oc, c.oh, c.ow});
    REQUIRE(args.env(), bias == nullptr || k == ConvKind::forward,
            "conv2d: only the forward kernel takes a bias");
    if (bias) {
      require_same(args, 3, *bias, out);
      require_extent(args, 3, *bias, c.oc);
    }
    switch (k) {
      case ConvKind::forward:
        require_extent(args, 1, a, xn), require_extent(args, 2, b, wn), require_extent(args, 4, out, yn);
        break;
      case ConvKind::gradInput:
        require_extent(args, 1, a, yn), require_extent(args, 2, b, wn), require_extent(args, 4, out, xn);
        break;
      case ConvKind::gradWeight:
        require_extent(args, 1, a, xn), require_extent(args, 2, b, yn), require_extent(args, 4, out, wn);
        break;
      default:
        require_extent(args, 1, a, yn), require_extent(args, 4, out, c.oc);
        break;
    }
    dispatch::conv2d(out.device(), out.dtype(), k, c, a.data(), b.data(),
                     bias ? bias->data() : nullptr, out.data());
    return args.env().Undefined();
  });
}

// pool2d(kind, src, dst, indices | null, [planes, h, w, oh, ow, kh, kw, strideH, strideW,
//        padH, padW, dilationH, dilationW], countIncludePad)
//   max: (x, y, indices out); maxBackward: (gy, gx, indices in); avg, adaptiveAvg: (x, y);
//   avgBackward, adaptiveAvgBackward: (gy, gx). Adaptive kinds read planes, h, w, oh, ow.
Napi::Value Pool2d(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "pool2d", 6);
    int64_t kind = args.integer(0);
    REQUIRE(args.env(), kind < static_cast<int64_t>(PoolKind::kCount), "pool2d: unknown kind");
    const auto k = static_cast<PoolKind>(kind);
    Storage& src = args.storage(1);
    Storage& dst = args.storage(2);
    Storage* idx = args.optional_storage(3);
    require_float(args, 2, dst);
    require_same(args, 1, src, dst);
    Strides g = geometry(args, 4, 13);
    PoolArgs p;
    p.planes = g[0], p.h = g[1], p.w = g[2], p.oh = g[3], p.ow = g[4], p.kh = g[5], p.kw = g[6];
    p.stride_h = g[7], p.stride_w = g[8], p.pad_h = g[9], p.pad_w = g[10], p.dil_h = g[11];
    p.dil_w = g[12];
    p.count_include_pad = args.boolean(5);
    REQUIRE(args.env(), p.kh >= 1 && p.kw >= 1 && p.stride_h >= 1 && p.stride_w >= 1 &&
                            p.dil_h >= 1 && p.dil_w >= 1,
            "pool2d: kernel size, stride and dilation must be positive");
    const int64_t in = block_extent(args, {p.planes, p.h, p.w});
    const int64_t outn = block_extent(args, {p.planes, p.oh, p.ow});
    const bool backward = k == PoolKind::maxBackward || k == PoolKind::avgBackward ||
                          k == PoolKind::adaptiveAvgBackward;
    require_extent(args, 1, src, backward ? outn : in);
    require_extent(args, 2, dst, backward ? in : outn);
    const bool uses_indices = k == PoolKind::max || k == PoolKind::maxBackward;
    REQUIRE(args.env(), (idx != nullptr) == uses_indices,
            "pool2d: max pooling needs indices and the other kinds take none");
    if (idx) {
      REQUIRE_TYPE(args.env(), idx->dtype() == DType::k_int32 && idx->device() == dst.device(),
                   "pool2d: indices must be int32 on the output's device");
      require_extent(args, 3, *idx, outn);
      if (k == PoolKind::maxBackward && idx->device() == Device::kCpu) {
        // each index is a position in its own input plane, or -1 for none (the CUDA
        // kernel skips any other value itself: these indices never leave the library)
        const int32_t* ip = static_cast<const int32_t*>(idx->data());
        const int64_t hw = p.h * p.w;
        for (int64_t i = 0; i < outn; ++i)
          REQUIRE(args.env(), ip[i] >= -1 && ip[i] < hw,
                  "pool2d: index " + std::to_string(ip[i]) + " is out of range for a plane of " +
                      std::to_string(hw) + " elements");
      }
    }
    dispatch::pool2d(dst.device(), dst.dtype(), k, p, src.data(), dst.data(),
                     idx ? static_cast<int32_t*>(idx->data()) : nullptr);
    return args.env().Undefined();
  });
}

// Reads argument i as an array of `count` storages (count < 0: any length); entries
// may be null where `nullable`.
std::vector<Storage*> storage_list(const Napi::CallbackInfo& info, const Args& args, size_t i,
                                   int64_t count, bool nullable) {
  REQUIRE_TYPE(args.env(), info[i].IsArray(), args.where(i) + " must be an array of storages");
  Napi::Array a = info[i].As<Napi::Array>();
  REQUIRE(args.env(), count < 0 || a.Length() == static_cast<uint32_t>(count),
          args.where(i) + " has " + std::to_string(a.Length()) + " entries, expected " +
              std::to_string(count));
  std::vector<Storage*> out(a.Length(), nullptr);
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    const std::string at = args.where(i) + "[" + std::to_string(k) + "]";
    if (v.IsNull() || v.IsUndefined()) {
      REQUIRE_TYPE(args.env(), nullable, at + " must be a Storage");
      continue;
    }
    out[k] = Storage::Unwrap(v);
    REQUIRE_TYPE(args.env(), out[k] != nullptr, at + " is not a Storage");
    REQUIRE(args.env(), out[k]->data() != nullptr || out[k]->bytes() == 0,
            at + " was freed (disposed tensor)");
  }
  return out;
}

// Reads argument i as an array of `count` integers >= lo.
std::vector<int64_t> integer_list(const Napi::CallbackInfo& info, const Args& args, size_t i,
                                  size_t count, int64_t lo) {
  REQUIRE_TYPE(args.env(), info[i].IsArray(), args.where(i) + " must be an array of integers");
  Napi::Array a = info[i].As<Napi::Array>();
  REQUIRE(args.env(), a.Length() == count,
          args.where(i) + " has " + std::to_string(a.Length()) + " entries, expected " +
              std::to_string(count));
  std::vector<int64_t> out(count);
  for (uint32_t k = 0; k < count; ++k) {
    Napi::Value v = a.Get(k);
    REQUIRE_TYPE(args.env(), v.IsNumber(), args.where(i) + " must be an array of integers");
    const double d = v.As<Napi::Number>().DoubleValue();
    REQUIRE(args.env(), d == std::floor(d) && d >= static_cast<double>(lo) && d < 9.2e18,
            args.where(i) + "[" + std::to_string(k) + "] must be an integer >= " + std::to_string(lo));
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

// optimStep(kind, hyper, params, grads, state0, state1, state2, numels, steps, foundInf | null,
//           copies | null)
//   -> true when the update ran, false when foundInf was set and it was skipped.
//   hyper: numbers at the positions of optimHyper; the arrays hold one entry per
//   parameter; state arrays hold null where a kind's slot is unused (see OptimTensor).
//   copies: with float32 master weights (params float32, grads half), the half
//   parameters to rewrite, one per parameter; otherwise null.
Napi::Value OptimStep(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "optimStep", 10);
    Napi::Env env = args.env();
    const int64_t kind = args.integer(0);
    REQUIRE(env, kind < static_cast<int64_t>(OptimKind::kCount), "optimStep: unknown optimizer kind");
    REQUIRE_TYPE(env, info[1].IsArray(), args.where(1) + " must be an array of numbers");
    Napi::Array hv = info[1].As<Napi::Array>();
    constexpr uint32_t kHyper = static_cast<uint32_t>(OptimHyper::kCount);
    REQUIRE(env, hv.Length() == kHyper,
            args.where(1) + " has " + std::to_string(hv.Length()) + " entries, expected " +
                std::to_string(kHyper));
    double h[kHyper];
    for (uint32_t k = 0; k < kHyper; ++k) {
      Napi::Value v = hv.Get(k);
      REQUIRE_TYPE(env, v.IsNumber(), args.where(1) + " must be an array of numbers");
      h[k] = v.As<Napi::Number>().DoubleValue();
    }
    auto hp = [&](OptimHyper which) { return h[static_cast<int>(which)]; };
    OptimArgs a;
    a.kind = static_cast<OptimKind>(kind);
    a.lr = hp(OptimHyper::lr);
    a.weight_decay = hp(OptimHyper::weightDecay);
    a.momentum = hp(OptimHyper::momentum);
    a.dampening = hp(OptimHyper::dampening);
    a.beta1 = hp(OptimHyper::beta1);
    a.beta2 = hp(OptimHyper::beta2);
    a.alpha = hp(OptimHyper::alpha);
    a.eps = hp(OptimHyper::eps);
    a.lr_decay = hp(OptimHyper::lrDecay);
    a.inv_scale = hp(OptimHyper::invScale);
    a.nesterov = hp(OptimHyper::nesterov) != 0;
    a.maximize = hp(OptimHyper::maximize) != 0;
    a.decoupled = hp(OptimHyper::decoupled) != 0;
    a.amsgrad = hp(OptimHyper::amsgrad) != 0;
    a.centered = hp(OptimHyper::centered) != 0;

    std::vector<Storage*> params = storage_list(info, args, 2, -1, false);
    const int64_t n = static_cast<int64_t>(params.size());
    std::vector<Storage*> grads = storage_list(info, args, 3, n, false);
    std::vector<Storage*> state[3] = {storage_list(info, args, 4, n, true),
                                      storage_list(info, args, 5, n, true),
                                      storage_list(info, args, 6, n, true)};
    std::vector<int64_t> numels = integer_list(info, args, 7, params.size(), 0);
    std::vector<int64_t> steps = integer_list(info, args, 8, params.size(), 1);
    Storage* found_inf = args.optional_storage(9);
    const bool has_copies = !(info[10].IsNull() || info[10].IsUndefined());
    std::vector<Storage*> copies = has_copies ? storage_list(info, args, 10, n, false) : std::vector<Storage*>();
    if (n == 0) return Napi::Boolean::New(env, true);

    // Which state slots each kind uses: 1 required, 0 must be null.
    bool uses[3] = {false, false, false};
    switch (a.kind) {
      case OptimKind::sgd: uses[0] = a.momentum != 0; break;
      case OptimKind::adam: uses[0] = uses[1] = true, uses[2] = a.amsgrad; break;
      case OptimKind::rmsprop: uses[0] = true, uses[1] = a.momentum > 0, uses[2] = a.centered; break;
      case OptimKind::adagrad: uses[0] = true; break;
      default: break;
    }
    const Storage& ref = *params[0];
    REQUIRE_TYPE(env, ref.dtype() == DType::k_float32 || ref.dtype() == DType::k_float64,
                 args.where(2) + "[0] must be float32 or float64 (half parameters train through float32 "
                                 "master weights), got " + dtype_name(ref.dtype()));
    // gradients (and copies) are in the parameters' dtype, or half beside float32 masters
    const DType grad_t = grads[0]->dtype();
    const bool master = grad_t != ref.dtype();
    REQUIRE_TYPE(env, !master || (ref.dtype() == DType::k_float32 &&
                                  (grad_t == DType::k_float16 || grad_t == DType::k_bfloat16)),
                 args.where(3) + "[0] has dtype " + dtype_name(grad_t) + " beside " + dtype_name(ref.dtype()) +
                     " parameters; only float32 master weights take float16 or bfloat16 gradients");
    REQUIRE_TYPE(env, master == has_copies,
                 args.where(10) + (master ? " must list the half parameters the float32 masters update"
                                          : " must be null: the parameters are their own masters"));
    auto same_as = [&](size_t arg, int64_t k, const Storage& s, DType want) {
      const std::string at = args.where(arg) + "[" + std::to_string(k) + "]";
      REQUIRE_TYPE(env, s.dtype() == want,
                   at + " has dtype " + dtype_name(s.dtype()) + ", expected " + dtype_name(want));
      REQUIRE_TYPE(env, s.device() == ref.device(), at + " is on another device than argument 2[0]");
      REQUIRE(env, numels[k] <= s.numel(),
              at + " is too small: the update reads " + std::to_string(numels[k]) +
                  " elements but it holds " + std::to_string(s.numel()));
    };
    auto same = [&](size_t arg, int64_t k, const Storage& s) { same_as(arg, k, s, ref.dtype()); };
    std::vector<OptimTensor> tensors(n);
    for (int64_t k = 0; k < n; ++k) {
      same(2, k, *params[k]);
      same_as(3, k, *grads[k], grad_t);
      OptimTensor& t = tensors[k];
      t.param = params[k]->data();
      t.grad = grads[k]->data();
      if (master) {
        same_as(10, k, *copies[k], grad_t);
        REQUIRE(env, copies[k] != grads[k], args.where(10) + "[" + std::to_string(k) + "] aliases the gradient");
        t.copy = copies[k]->data();
      }
      t.numel = numels[k];
      t.step = steps[k];
      for (int j = 0; j < 3; ++j) {
        Storage* s = state[j][k];
        REQUIRE(env, (s != nullptr) == uses[j],
                args.where(4 + j) + "[" + std::to_string(k) + "] must be " +
                    (uses[j] ? "a Storage: this update keeps state in it" : "null: this update keeps no state there"));
        if (s == nullptr) continue;
        same(4 + j, k, *s);
        REQUIRE(env, s != params[k] && s != grads[k],
                args.where(4 + j) + "[" + std::to_string(k) + "] aliases the parameter or its gradient");
        t.state[j] = s->data();
      }
    }
    if (found_inf) {
      REQUIRE_TYPE(env, found_inf->dtype() == DType::k_float32 && found_inf->device() == ref.device(),
                   args.where(9) + " must be a float32 storage on the parameters' device");
      require_extent(args, 9, *found_inf, 1);
      a.found_inf = static_cast<const float*>(found_inf->data());
    }
    dispatch::optim_step(ref.device(), ref.dtype(), grad_t, a, tensors.data(), n);
    // the kernel itself skipped the update on overflow; this read only reports it
    float flag = 0.0f;
    if (a.found_inf != nullptr) {
      if (ref.device() == Device::kCuda)
        cuda::copy_to_host(&flag, a.found_inf, sizeof(float));
      else
        flag = *a.found_inf;
    }
    const bool skipped = flag != 0.0f;
    return Napi::Boolean::New(env, !skipped);
  });
}

// ampUnscale(grads, numels, invScale, foundInf): every grads[k] (one floating dtype,
// numels[k] elements) multiplied by invScale in place, in one pass that also sets
// foundInf (a float32 storage of one element) to 1 when a value read was inf or NaN.
Napi::Value AmpUnscale(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "ampUnscale", 4);
    Napi::Env env = args.env();
    std::vector<Storage*> grads = storage_list(info, args, 0, -1, false);
    const int64_t n = static_cast<int64_t>(grads.size());
    std::vector<int64_t> numels = integer_list(info, args, 1, grads.size(), 0);
    const double inv_scale = args.number(2);
    Storage& found_inf = args.storage(3);
    REQUIRE_TYPE(env, found_inf.dtype() == DType::k_float32, args.where(3) + " must be a float32 storage");
    require_extent(args, 3, found_inf, 1);
    if (n == 0) return env.Undefined();
    const Storage& ref = *grads[0];
    REQUIRE_TYPE(env, dtype_is_float(ref.dtype()),
                 args.where(0) + "[0] must have a floating-point dtype, got " + dtype_name(ref.dtype()));
    REQUIRE_TYPE(env, found_inf.device() == ref.device(), args.where(3) + " is on another device than argument 0[0]");
    std::vector<AmpTensor> tensors(n);
    for (int64_t k = 0; k < n; ++k) {
      const Storage& s = *grads[k];
      const std::string at = args.where(0) + "[" + std::to_string(k) + "]";
      REQUIRE_TYPE(env, s.dtype() == ref.dtype(),
                   at + " has dtype " + dtype_name(s.dtype()) + ", expected " + dtype_name(ref.dtype()));
      REQUIRE_TYPE(env, s.device() == ref.device(), at + " is on another device than argument 0[0]");
      REQUIRE(env, numels[k] <= s.numel(),
              at + " is too small: the pass reads " + std::to_string(numels[k]) + " elements but it holds " +
                  std::to_string(s.numel()));
      tensors[k].data = grads[k]->data();
      tensors[k].numel = numels[k];
    }
    dispatch::amp_unscale(ref.device(), ref.dtype(), tensors.data(), n, inv_scale,
                          static_cast<float*>(found_inf.data()));
    return env.Undefined();
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "setNumThreads", 1);
    cpu::set_num_threads(static_cast<int>(args.integer(0, 1)));
    return args.env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::get_num_threads());
}

Napi::Object counters(Napi::Env env, Device d) {
  MemoryCounters& c = memory_counters(d);
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", static_cast<double>(c.bytes.load()));
  o.Set("storages", static_cast<double>(c.count.load()));
  o.Set("peakBytes", static_cast<double>(c.peak.load()));
  return o;
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Object cpu_o = counters(env, Device::kCpu);
  CacheStats cs = cpu_cache_stats();
  cpu_o.Set("cachedBytes", static_cast<double>(cs.cached_bytes));
  o.Set("cpu", cpu_o);
  Napi::Object cuda_o = counters(env, Device::kCuda);
  cuda_o.Set("cachedBytes", static_cast<double>(cuda::cached_bytes()));
  o.Set("cuda", cuda_o);
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  cpu_cache_empty();
  return info.Env().Undefined();
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cpu::CpuFeatures& f = cpu::cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", cpu::isa_kernels().name);
  const cpu::GemmTiles tiles = cpu::isa_kernels().tiles();
  auto tile = [&](int rows, int cols) {
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, rows);
    a.Set(1u, cols);
    return a;
  };
  Napi::Object t = Napi::Object::New(env);
  t.Set("float32", tile(tiles.f32_rows, tiles.f32_cols));
  t.Set("float64", tile(tiles.f64_rows, tiles.f64_cols));
  o.Set("gemmTiles", t);
  Napi::Object feats = Napi::Object::New(env);
  feats.Set("avx2", f.avx2);
  feats.Set("fma", f.fma);
  feats.Set("f16c", f.f16c);
  feats.Set("avx512f", f.avx512f);
  feats.Set("avx512bw", f.avx512bw);
  feats.Set("avx512vl", f.avx512vl);
  feats.Set("avx512dq", f.avx512dq);
  feats.Set("avx512bf16", f.avx512bf16);
  feats.Set("avx512fp16", f.avx512fp16);
  feats.Set("amxBf16", f.amx_bf16);
  o.Set("features", feats);
  return o;
}

Napi::Value SelectIsa(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Args args(info, "selectIsa", 1);
    REQUIRE_TYPE(args.env(), info[0].IsString(), "selectIsa: expected a name");
    return Napi::Boolean::New(args.env(), cpu::select_isa(info[0].As<Napi::String>().Utf8Value()));
  });
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("available", cuda::available());
    o.Set("deviceCount", cuda::device_count());
    o.Set("status", cuda::status());
    o.Set("deviceName", cuda::device_name());
    return o;
  });
}

Napi::Value CudaGemmTensorCores(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), cuda::gemm_tensor_cores()); });
}

Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    cuda::empty_cache();
    return info.Env().Undefined();
  });
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    cuda::synchronize();
    return info.Env().Undefined();
  });
}

}  // namespace

void register_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("upload", Napi::Function::New<Upload>(env, "upload"));
  exports.Set("download", Napi::Function::New<Download>(env, "download"));
  exports.Set("downloadAsync", Napi::Function::New<DownloadAsync>(env, "downloadAsync"));
  exports.Set("fill", Napi::Function::New<Fill>(env, "fill"));
  exports.Set("cast", Napi::Function::New<Cast>(env, "cast"));
  exports.Set("transfer", Napi::Function::New<Transfer>(env, "transfer"));
  exports.Set("unary", Napi::Function::New<Unary>(env, "unary"));
  exports.Set("binary", Napi::Function::New<Binary>(env, "binary"));
  exports.Set("compare", Napi::Function::New<Compare>(env, "compare"));
  exports.Set("where", Napi::Function::New<Where>(env, "where"));
  exports.Set("copy", Napi::Function::New<Copy>(env, "copy"));
  exports.Set("tri", Napi::Function::New<Tri>(env, "tri"));
  exports.Set("indexSelect", Napi::Function::New<IndexSelect>(env, "indexSelect"));
  exports.Set("gather", Napi::Function::New<Gather>(env, "gather"));
  exports.Set("scatterAdd", Napi::Function::New<ScatterAdd>(env, "scatterAdd"));
  exports.Set("reduce", Napi::Function::New<Reduce>(env, "reduce"));
  exports.Set("softmax", Napi::Function::New<Softmax>(env, "softmax"));
  exports.Set("crossEntropy", Napi::Function::New<CrossEntropy>(env, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New<CrossEntropyBackward>(env, "crossEntropyBackward"));
  exports.Set("gemm", Napi::Function::New<Gemm>(env, "gemm"));
  exports.Set("gemmActivations", gemm_activations(env));
  exports.Set("random", Napi::Function::New<Random>(env, "random"));
  exports.Set("conv2d", Napi::Function::New<Conv2d>(env, "conv2d"));
  exports.Set("pool2d", Napi::Function::New<Pool2d>(env, "pool2d"));
  exports.Set("optimStep", Napi::Function::New<OptimStep>(env, "optimStep"));
  exports.Set("ampUnscale", Napi::Function::New<AmpUnscale>(env, "ampUnscale"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("memory", Napi::Function::New<Memory>(env, "memory"));
  exports.Set("emptyCache", Napi::Function::New<EmptyCache>(env, "emptyCache"));
  exports.Set("cpuInfo", Napi::Function::New<CpuInfo>(env, "cpuInfo"));
  exports.Set("selectIsa", Napi::Function::New<SelectIsa>(env, "selectIsa"));
  exports.Set("cudaStatus", Napi::Function::New<CudaStatus>(env, "cudaStatus"));
  exports.Set("cudaEmptyCache", Napi::Function::New<CudaEmptyCache>(env, "cudaEmptyCache"));
  exports.Set("cudaGemmTensorCores", Napi::Function::New<CudaGemmTensorCores>(env, "cudaGemmTensorCores"));
  exports.Set("cudaSynchronize", Napi::Function::New<CudaSynchronize>(env, "cudaSynchronize"));
}

}  // namespace tg
