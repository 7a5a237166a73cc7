// The 'same' convolution layers of the book's Keras CNNs as XLA FFI custom calls for CPUs —
// chapter 14 *Convolution avec tensorflow/keras* (the forward pass, book L7482-7493) and
// chapter 12 *Convolution*, §4 *Retropropagation* (the weight gradient, book L7013:
// dF/da = sum_i f_i * g'_i * dF/dg_i for a weight a shared by the neurons i). Images NHWC,
// kernels HWIO, zero padding p = k/2, x outside the image is 0:
//
//   ConvLayer:                y[b,h,w,o]  = act(sum_{i,j,c} x[b,h+i-p,w+j-p,c] K[i,j,c,o] + bias[o])
//   WeightGradient:           dW[i,j,c,o] = sum_{b,h,w} x[b,h+i-p,w+j-p,c] delta[b,h,w,o]
//   WeightGradientOneChannel: the same for c = 1, and db[o] = sum_{b,h,w} delta[b,h,w,o]
//
// Why hand-written kernels: XLA:CPU runs these sums as Eigen or oneDNN library calls, or (the
// first layer, one input channel) as fusions that materialise shifted copies; here each is a
// block of broadcast-FMAs into SIMD registers (L floats each) that reads x and delta in place:
//   - ConvLayer keeps P output positions x OV*L output channels in registers; each input value
//     is loaded once (a memory broadcast) and multiplied by the k taps that meet it. Bias and
//     ReLU are applied when the block is stored.
//   - WeightGradient keeps OB output x CV*L input channels of one tap in registers.
//   - WeightGradientOneChannel keeps all k*k taps x OV*L output channels (and the bias) in
//     registers, reading a zero-padded copy of each (one-channel) image.
//
// Threads: work items are claimed in turn by the calling thread and by helpers on XLA's
// intra-op thread pool; the caller waits only for items that a running thread has claimed, so a
// helper that never starts cannot block it. The weight gradients sum fixed chunks of images
// into their own buffers, added in chunk order: the result does not depend on the number of
// threads or on which thread ran which chunk (bitwise reproducible).
//
// Built by deepmath_jax.cpu_kernels with -march=native for the machine it runs on.

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

// Runs f(0) .. f(n-1) on the calling thread and the pool's other threads.
template <typename F>
void ParallelFor(ffi::ThreadPool& pool, int64_t n, const F& f) {
  struct State {
    std::atomic<int64_t> next{0}, done{0};
  };
  auto state = std::make_shared<State>();  // shared: a helper may start after this returns
  const F* body = &f;  // only dereferenced for claimed items, i.e. before this returns
  auto run = [state, body, n] {
    for (int64_t t; (t = state->next.fetch_add(1, std::memory_order_relaxed)) < n;) {
      (*body)(t);
      state->done.fetch_add(1, std::memory_order_release);
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), n) - 1;
  for (int64_t t = 0; t < helpers; ++t) pool.Schedule(decltype(run)(run));  // a copy per task
  run();
  while (state->done.load(std::memory_order_acquire) < n) std::this_thread::yield();
}

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
  const int64_t chunks = std::min(s.B, kChunks);
  std::vector<float> partial(chunks * size);  // chunk buffers, each [tap][o][c]
  ParallelFor(pool, chunks, [&](int64_t c) {
    float* out = partial.data() + c * size;
    for (int64_t b = c * s.B / chunks; b < (c + 1) * s.B / chunks; ++b) image(x.typed_data(), g.typed_data(), out, s, b);
  });
  // Sum the chunks in order, then [tap][o][c] -> [tap][c][o] (HWIO).
  float* total = partial.data();
  for (int64_t c = 1; c < chunks; ++c) {
    const float* src = total + c * size;
    for (int64_t n = 0; n < size; ++n) total[n] += src[n];
  }
  for (int64_t t = 0; t < s.k * s.k; ++t)
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t c = 0; c < s.C; ++c)
        result[(t * s.C + c) * s.O + o] = total[(t * s.O + o) * s.C + c];
  return ffi::Error::Success();
}

// ------------------------------------------------------------------------------------------
// ConvLayer: y = act(conv(x, K) + bias), k = 3
// ------------------------------------------------------------------------------------------

constexpr int K3 = 3;  // the book's CNNs all use 3 x 3 kernels

struct ConvShape {
  int64_t B, H, W, C, O;
};

// y[b, h, w0 .. w0+P, o0 .. o0+OV*L]. Input value x[r, u] meets the outputs w = u - j + 1 of
// the taps j = 0, 1, 2: it is loaded once (a memory broadcast: no shuffle port) and multiplied
// by the three kernel vectors. Left / Right: the block touches the image's border, where the
// padding column is skipped at compile time (no test in the loop).
template <int P, int OV, bool Left, bool Right>
void ConvBlock(const float* x, const float* kern, const float* bias, bool relu, float* y,
               const ConvShape& s, int64_t b, int64_t h, int64_t w0, int64_t o0) {
  Vec acc[P][OV];
  for (int w = 0; w < P; ++w)
    for (int v = 0; v < OV; ++v) acc[w][v] = Vec{};
  for (int i = 0; i < K3; ++i) {
    const int64_t r = h + i - 1;
    if (r < 0 || r >= s.H) continue;
    const float* xr = x + ((b * s.H + r) * s.W + w0 - 1) * s.C;
    for (int64_t c = 0; c < s.C; ++c) {
      Vec kv[K3][OV];
      for (int j = 0; j < K3; ++j)
        for (int v = 0; v < OV; ++v) kv[j][v] = Load(kern + ((i * K3 + j) * s.C + c) * s.O + o0 + v * L);
      const float* xc = xr + c;
#pragma GCC unroll 32
      for (int u = Left ? 1 : 0; u < P + 2 - (Right ? 1 : 0); ++u) {
        const float xs = xc[u * s.C];
#pragma GCC unroll 3
        for (int j = 0; j < K3; ++j) {
          const int w = u - j;
          if (w >= 0 && w < P)
            for (int v = 0; v < OV; ++v) acc[w][v] += xs * kv[j][v];
        }
      }
    }
  }
  Vec bv[OV];
  for (int v = 0; v < OV; ++v) bv[v] = Load(bias + o0 + v * L);
  float* yr = y + ((b * s.H + h) * s.W + w0) * s.O + o0;
  for (int w = 0; w < P; ++w)
    for (int v = 0; v < OV; ++v) {
      Vec out = acc[w][v] + bv[v];
      if (relu) out = out > 0 ? out : Vec{};
      Store(yr + w * s.O + v * L, out);
    }
}

template <int P, int OV>
void ConvRow(const float* x, const float* kern, const float* bias, bool relu, float* y,
             const ConvShape& s, int64_t b, int64_t h) {
  for (int64_t o0 = 0; o0 < s.O; o0 += OV * L) {  // P divides W
    if (s.W == P) {
      ConvBlock<P, OV, true, true>(x, kern, bias, relu, y, s, b, h, 0, o0);
      continue;
    }
    ConvBlock<P, OV, true, false>(x, kern, bias, relu, y, s, b, h, 0, o0);
    for (int64_t w0 = P; w0 + P < s.W; w0 += P)
      ConvBlock<P, OV, false, false>(x, kern, bias, relu, y, s, b, h, w0, o0);
    ConvBlock<P, OV, false, true>(x, kern, bias, relu, y, s, b, h, s.W - P, o0);
  }
}

using ConvRowFn = void (*)(const float*, const float*, const float*, bool, float*,
                           const ConvShape&, int64_t, int64_t);

// The widest block of positions that divides the width and fits the registers (accumulators,
// 3*OV kernel vectors, one broadcast). nullptr when O is not a multiple of L.
ConvRowFn ChooseConv(const ConvShape& s) {
  if (s.O % L != 0 || s.W < 1) return nullptr;
  const bool two = s.O % (2 * L) == 0;
#define DEEPMATH_TRY(P)                                                         \
  if (s.W % P == 0) {                                                           \
    if (two && 2 * P + 2 * K3 + 1 <= kRegisters) return &ConvRow<P, 2>;         \
    if (!two && P + K3 + 1 <= kRegisters) return &ConvRow<P, 1>;                \
  }
  DEEPMATH_TRY(14)
  DEEPMATH_TRY(12)
  DEEPMATH_TRY(8)
  DEEPMATH_TRY(7)
  DEEPMATH_TRY(4)
  DEEPMATH_TRY(2)
  DEEPMATH_TRY(1)
#undef DEEPMATH_TRY
  return nullptr;
}

ffi::Error ConvLayer(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> kernel,
                    ffi::Buffer<ffi::F32> bias, ffi::ResultBuffer<ffi::F32> y, bool relu) {
  const auto xd = x.dimensions(), kd = kernel.dimensions(), bd = bias.dimensions();
  if (xd.size() != 4 || kd.size() != 4 || bd.size() != 1)
    return ffi::Error::InvalidArgument("conv_layer: x, kernel and bias must have rank 4, 4, 1");
  const ConvShape s{xd[0], xd[1], xd[2], xd[3], kd[3]};
  if (kd[0] != K3 || kd[1] != K3 || kd[2] != s.C || bd[0] != s.O)
    return ffi::Error::InvalidArgument("conv_layer: a (3, 3, C, O) kernel and an (O,) bias expected");
  const ConvRowFn row = ChooseConv(s);
  if (row == nullptr)
    return ffi::Error::InvalidArgument("conv_layer: output channels not a multiple of the SIMD width");
  const int64_t rows = s.B * s.H;
  constexpr int64_t kRows = 4;  // output rows per work item
  const float *xp = x.typed_data(), *kp = kernel.typed_data(), *bp = bias.typed_data();
  float* yp = y->typed_data();
  ParallelFor(pool, (rows + kRows - 1) / kRows, [&](int64_t t) {
    for (int64_t r = t * kRows; r < std::min(rows, (t + 1) * kRows); ++r)
      row(xp, kp, bp, relu, yp, s, r / s.H, r % s.H);
  });
  return ffi::Error::Success();
}

// ------------------------------------------------------------------------------------------
// WeightGradientOneChannel: dW (3, 3, 1, O) and db (O) of a layer whose input has 1 channel
// ------------------------------------------------------------------------------------------

// Adds image b's sums for the output channels o0 .. o0+OV*L to out ([tap][o], then [o] for db).
template <int OV>
void OneChannelImage(const float* xpad, const float* g, float* out, int64_t H, int64_t W,
                     int64_t O, int64_t b, int64_t o0) {
  Vec acc[K3 * K3][OV], accb[OV];
  for (int t = 0; t < K3 * K3; ++t)
    for (int v = 0; v < OV; ++v) acc[t][v] = Load(out + t * O + o0 + v * L);
  for (int v = 0; v < OV; ++v) accb[v] = Load(out + K3 * K3 * O + o0 + v * L);
  const int64_t Wp = W + 2;
  for (int64_t h = 0; h < H; ++h) {
    const float* gr = g + ((b * H + h) * W) * O + o0;
    const float* xr = xpad + h * Wp;  // row h - 1 of the image, in padded coordinates
    for (int64_t w = 0; w < W; ++w) {
      Vec gv[OV];
      for (int v = 0; v < OV; ++v) {
        gv[v] = Load(gr + w * O + v * L);
        accb[v] += gv[v];
      }
#pragma GCC unroll 9
      for (int t = 0; t < K3 * K3; ++t) {
        const float xs = xr[(t / K3) * Wp + w + t % K3];
        for (int v = 0; v < OV; ++v) acc[t][v] += xs * gv[v];
      }
    }
  }
  for (int t = 0; t < K3 * K3; ++t)
    for (int v = 0; v < OV; ++v) Store(out + t * O + o0 + v * L, acc[t][v]);
  for (int v = 0; v < OV; ++v) Store(out + K3 * K3 * O + o0 + v * L, accb[v]);
}

ffi::Error WeightGradientOneChannel(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x,
                                    ffi::Buffer<ffi::F32> g, ffi::ResultBuffer<ffi::F32> dw,
                                    ffi::ResultBuffer<ffi::F32> db) {
  const auto xd = x.dimensions(), gd = g.dimensions();
  if (xd.size() != 4 || gd.size() != 4 || xd[3] != 1)
    return ffi::Error::InvalidArgument("conv_weight_gradient: one-channel images (B, H, W, 1) expected");
  const int64_t B = xd[0], H = xd[1], W = xd[2], O = gd[3];
  if (gd[0] != B || gd[1] != H || gd[2] != W || O % L != 0)
    return ffi::Error::InvalidArgument("conv_weight_gradient: x and delta shapes disagree");
  const int64_t size = K3 * K3 * O + O;
  std::vector<float> partial(std::max<int64_t>(1, std::min(B, kChunks)) * size);
  const int64_t chunks = std::min(B, kChunks);
  const float *xp = x.typed_data(), *gp = g.typed_data();
  const int ov = (O % (2 * L) == 0 && K3 * K3 * 2 + 4 <= kRegisters) ? 2 : 1;
  ParallelFor(pool, chunks, [&](int64_t c) {
    float* out = partial.data() + c * size;
    std::vector<float> pad((H + 2) * (W + 2), 0.0f);  // the image with its zero border
    for (int64_t b = c * B / chunks; b < (c + 1) * B / chunks; ++b) {
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(pad.data() + (h + 1) * (W + 2) + 1, xp + (b * H + h) * W, W * sizeof(float));
      for (int64_t o0 = 0; o0 < O; o0 += ov * L) {
        if (ov == 2) OneChannelImage<2>(pad.data(), gp, out, H, W, O, b, o0);
        else OneChannelImage<1>(pad.data(), gp, out, H, W, O, b, o0);
      }
    }
  });
  float* total = partial.data();
  for (int64_t c = 1; c < chunks; ++c)
    for (int64_t n = 0; n < size; ++n) total[n] += total[c * size + n];
  std::memcpy(dw->typed_data(), total, K3 * K3 * O * sizeof(float));
  std::memcpy(db->typed_data(), total + K3 * K3 * O, O * sizeof(float));
  return ffi::Error::Success();
}

}  // namespace

// The SIMD width this library was compiled for (floats per register).
extern "C" int DeepmathConvolutionLanes() { return L; }

XLA_FFI_DEFINE_HANDLER_SYMBOL(DeepmathConvLayer, ConvLayer,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<bool>("relu"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(DeepmathConvWeightGradientOneChannel, WeightGradientOneChannel,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(DeepmathConvWeightGradient, WeightGradient,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
