// The weight gradient of a 'same' convolution layer, as an XLA FFI custom call for CPUs.
//
// Chapter 12 *Convolution*, §4 *Rétropropagation* (backpropagation through shared weights,
// book L7013): dF/da = sum_i f_i * g'_i * dF/dg_i for a weight a shared by the neurons i.
// For every tap (i, j) of a Keras Conv2D kernel (images NHWC, kernel HWIO, zero padding k/2):
//
//     dW[i, j, c, o] = sum_{b, h, w} x[b, h + i - p, w + j - p, c] * delta[b, h, w, o]
//
// (x outside the image is 0). Why a hand-written kernel: XLA:CPU runs this sum as an Eigen
// convolution at ~30 % of the cores' FMA throughput; here the sum over (b, h, w) runs as
// broadcast-FMAs into registers that hold a (OB output channels) x (CV * L input channels)
// block of dW, L the SIMD width, reading x and delta in place (no padded or shifted copies).
//
// Threads: the images are cut into at most kChunks fixed chunks, claimed in turn by the calling
// thread and by helpers on XLA's intra-op thread pool; each chunk sums into its own buffer and
// the buffers are added in chunk order, so the result does not depend on the number of threads
// or on which thread ran which chunk (bitwise reproducible). The caller waits only for chunks
// that a running thread has claimed, so a helper that never starts cannot block it.
//
// Built by deepmath_jax.conv_weight_gradient with -march=native for the machine it runs on.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

#if defined(__AVX512F__)
constexpr int L = 16;  // floats per SIMD register
constexpr int kRegisters = 32;
#elif defined(__AVX__)
constexpr int L = 8;
constexpr int kRegisters = 16;
#else
constexpr int L = 4;  // SSE / NEON
constexpr int kRegisters = 16;
#endif
typedef float Vec __attribute__((vector_size(4 * L)));

inline Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void Store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

constexpr int64_t kChunks = 16;  // fixed: the summation order must not depend on the threads
constexpr int64_t kBand = 8;     // image rows per pass: x and delta of a band stay in L1/L2

struct Shape {
  int64_t B, H, W, C, O, k;
};

// dW block (tap i, j; output channels o0 .. o0+OB; input channels c0 .. c0+CV*L), stored in
// the chunk buffer as [tap][o][c] so that the input channels are the SIMD lanes, plus the sum
// over the rows h0 .. h1 of image b.
template <int OB, int CV>
void Block(const float* x, const float* g, float* acc_out, const Shape& s, int64_t b, int64_t i,
           int64_t j, int64_t c0, int64_t o0, int64_t h0, int64_t h1) {
  const int64_t p = s.k / 2;
  Vec acc[OB][CV];
  float* out = acc_out + ((i * s.k + j) * s.O + o0) * s.C + c0;
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < CV; ++v) acc[o][v] = Load(out + o * s.C + v * L);
  const int64_t h_lo = std::max(h0, p - i), h_hi = std::min(h1, s.H + p - i);
  const int64_t w_lo = std::max<int64_t>(0, p - j), w_hi = std::min(s.W, s.W + p - j);
  for (int64_t h = h_lo; h < h_hi; ++h) {
    const float* xr = x + ((b * s.H + h + i - p) * s.W + (w_lo + j - p)) * s.C + c0;
    const float* gr = g + ((b * s.H + h) * s.W + w_lo) * s.O + o0;
    for (int64_t w = 0; w < w_hi - w_lo; ++w) {
      Vec xv[CV];
      for (int v = 0; v < CV; ++v) xv[v] = Load(xr + w * s.C + v * L);
      const float* gw = gr + w * s.O;
#pragma GCC unroll 16
      for (int o = 0; o < OB; ++o)
        for (int v = 0; v < CV; ++v) acc[o][v] += gw[o] * xv[v];
    }
  }
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < CV; ++v) Store(out + o * s.C + v * L, acc[o][v]);
}

template <int OB, int CV>
void Image(const float* x, const float* g, float* out, const Shape& s, int64_t b) {
  for (int64_t h0 = 0; h0 < s.H; h0 += kBand)
    for (int64_t i = 0; i < s.k; ++i)
      for (int64_t j = 0; j < s.k; ++j)
        for (int64_t o0 = 0; o0 < s.O; o0 += OB)
          for (int64_t c0 = 0; c0 < s.C; c0 += CV * L)
            Block<OB, CV>(x, g, out, s, b, i, j, c0, o0, h0, std::min(s.H, h0 + kBand));
}

using ImageFn = void (*)(const float*, const float*, float*, const Shape&, int64_t);

// The widest register block that the shape allows: CV*L input channels by OB output channels,
// OB*CV accumulators leaving registers for the operands. nullptr when C is not a multiple of L.
ImageFn Choose(const Shape& s) {
  const bool two = s.C % (2 * L) == 0;
  if (s.C % L != 0) return nullptr;
  const int budget = kRegisters - 8;
#define DEEPMATH_TRY(OB)                                                  \
  if (s.O % OB == 0) {                                                    \
    if (two && 2 * OB <= budget) return &Image<OB, 2>;                    \
    if (!two && OB <= budget) return &Image<OB, 1>;                       \
  }
  DEEPMATH_TRY(16)
  DEEPMATH_TRY(8)
  DEEPMATH_TRY(4)
  DEEPMATH_TRY(2)
  DEEPMATH_TRY(1)
#undef DEEPMATH_TRY
  return nullptr;
}

struct Work {
  Shape s;
  ImageFn image;
  const float* x;
  const float* g;
  int64_t chunks, size;
  std::vector<float> partial;  // chunks x size, each [tap][o][c]
  std::atomic<int64_t> next{0}, done{0};

  void Run() {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
      float* out = partial.data() + c * size;
      std::fill(out, out + size, 0.0f);
      for (int64_t b = c * s.B / chunks; b < (c + 1) * s.B / chunks; ++b) image(x, g, out, s, b);
      done.fetch_add(1, std::memory_order_release);
    }
  }
};

ffi::Error WeightGradient(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> g,
                          ffi::ResultBuffer<ffi::F32> dw) {
  const auto xd = x.dimensions(), gd = g.dimensions(), wd = dw->dimensions();
  if (xd.size() != 4 || gd.size() != 4 || wd.size() != 4)
    return ffi::Error::InvalidArgument("conv_weight_gradient: operands must have rank 4");
  const Shape s{xd[0], xd[1], xd[2], xd[3], gd[3], wd[0]};
  if (gd[0] != s.B || gd[1] != s.H || gd[2] != s.W || wd[1] != s.k || s.k % 2 != 1 ||
      wd[2] != s.C || wd[3] != s.O)
    return ffi::Error::InvalidArgument("conv_weight_gradient: x, delta and dW shapes disagree");
  const ImageFn image = Choose(s);
  if (image == nullptr)
    return ffi::Error::InvalidArgument("conv_weight_gradient: channels not a multiple of the SIMD width");
  const int64_t size = s.k * s.k * s.C * s.O;
  float* result = dw->typed_data();
  if (s.B == 0 || s.H == 0 || s.W == 0) {
    std::fill(result, result + size, 0.0f);
    return ffi::Error::Success();
  }
  auto work = std::make_shared<Work>();  // shared: a helper may start after this call returns
  work->s = s;
  work->image = image;
  work->x = x.typed_data();
  work->g = g.typed_data();
  work->chunks = std::min(s.B, kChunks);
  work->size = size;
  work->partial.resize(work->chunks * size);
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), work->chunks) - 1;
  for (int64_t t = 0; t < helpers; ++t) pool.Schedule([work] { work->Run(); });
  work->Run();
  while (work->done.load(std::memory_order_acquire) < work->chunks) std::this_thread::yield();
  // Sum the chunks in order, then [tap][o][c] -> [tap][c][o] (HWIO).
  float* total = work->partial.data();
  for (int64_t c = 1; c < work->chunks; ++c) {
    const float* src = total + c * size;
    for (int64_t n = 0; n < size; ++n) total[n] += src[n];
  }
  for (int64_t t = 0; t < s.k * s.k; ++t)
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t c = 0; c < s.C; ++c)
        result[(t * s.C + c) * s.O + o] = total[(t * s.O + o) * s.C + c];
  return ffi::Error::Success();
}

}  // namespace

// The SIMD width this library was compiled for (floats per register).
extern "C" int DeepmathConvWeightGradientLanes() { return L; }

XLA_FFI_DEFINE_HANDLER_SYMBOL(DeepmathConvWeightGradient, WeightGradient,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
