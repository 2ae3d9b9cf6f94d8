/*
 * Batched single-precision GEMM over a system BLAS, with the epilogue tfjs fuses into
 * _FusedMatMul (broadcast bias, then an activation). Operands are addressed as element
 * offsets into one Float32Array, so the caller can hand over a view of the tfjs WASM heap
 * and nothing is copied. Plain Node-API C, so one build serves every Node version and no
 * C++ wrapper headers are needed at install time.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <node_api.h>

#include "blas.h"
#include "trainer.h"

/* Must match tfjs-backend-wasm's FusableActivation enum, which nativeGemm.ts mirrors. */
enum Activation {
  ACT_LINEAR = 0,
  ACT_RELU = 1,
  ACT_RELU6 = 2,
  ACT_PRELU = 3,
  ACT_LEAKYRELU = 4,
  ACT_SIGMOID = 5,
  ACT_ELU = 6,
};

#define MAX_ARGS 15

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, "NativeGemmArgument", message);
  return NULL;
}

static int get_f64(napi_env env, napi_value v, double* out) {
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* A non-negative integer that fits a size_t exactly (JS numbers are doubles). */
static int get_index(napi_env env, napi_value v, int64_t* out) {
  double d;
  if (!get_f64(env, v, &d) || !(d >= 0) || d > 9007199254740991.0 || d != floor(d)) return 0;
  *out = (int64_t)d;
  return 1;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

/* Optional Float64Array of per-batch element offsets; NULL when the argument is null. */
static int get_offsets(napi_env env, napi_value v, size_t batch, const double** out) {
  if (is_nullish(env, v)) {
    *out = NULL;
    return 1;
  }
  void* data;
  size_t length;
  if (!get_typed(env, v, napi_float64_array, &data, &length) || length != batch) return 0;
  *out = (const double*)data;
  return 1;
}

static int offset_ok(double off, int64_t extent, size_t heap_len) {
  return off >= 0 && off == floor(off) && off + (double)extent <= (double)heap_len;
}

static inline float activate(float x, int act, float alpha, float prelu_w) {
  switch (act) {
    case ACT_RELU:
      return x < 0.0f ? 0.0f : x;
    case ACT_RELU6:
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case ACT_PRELU:
      return x < 0.0f ? prelu_w * x : x;
    case ACT_LEAKYRELU:
      return x < 0.0f ? alpha * x : x;
    case ACT_SIGMOID:
      return 1.0f / (1.0f + expf(-x));
    case ACT_ELU:
      return x < 0.0f ? expm1f(x) : x;
    default:
      return x;
  }
}

/*
 * gemm(heap, m, n, k, transA, transB, offsets, biasOffsets, biasStrideM, biasStrideN,
 *      activation, alpha, preluOffsets, preluStrideM, preluStrideN)
 *
 * heap: Float32Array. offsets: Float64Array [aOff, bOff, cOff] per batch, element offsets.
 * A is stored [m,k] (or [k,m] when transA), B [k,n] (or [n,k]), C [m,n], all row-major and
 * contiguous. Bias/prelu element (r,c) of batch i lives at off[i] + r*strideM + c*strideN,
 * strides 0 where tfjs broadcasts. Every extent is checked against the heap first: a wrong
 * offset must throw, not scribble over the WASM memory.
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != MAX_ARGS) return throw_error(env, "gemm expects 15 arguments");

  void* heap_data;
  size_t heap_len;
  if (!get_typed(env, argv[0], napi_float32_array, &heap_data, &heap_len)) {
    return throw_error(env, "heap must be a Float32Array");
  }
  float* heap = (float*)heap_data;

  int64_t m, n, k;
  if (!get_index(env, argv[1], &m) || !get_index(env, argv[2], &n) || !get_index(env, argv[3], &k)) {
    return throw_error(env, "m, n and k must be non-negative integers");
  }
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return throw_error(env, "m, n or k exceeds BLAS int range");
  bool trans_a, trans_b;
  if (napi_get_value_bool(env, argv[4], &trans_a) != napi_ok || napi_get_value_bool(env, argv[5], &trans_b) != napi_ok) {
    return throw_error(env, "transA and transB must be booleans");
  }

  void* off_data;
  size_t off_len;
  if (!get_typed(env, argv[6], napi_float64_array, &off_data, &off_len) || off_len % 3 != 0) {
    return throw_error(env, "offsets must be a Float64Array of [a, b, c] triples");
  }
  const double* offsets = (const double*)off_data;
  const size_t batch = off_len / 3;

  const double* bias_off;
  const double* prelu_off;
  int64_t bias_sm, bias_sn, prelu_sm, prelu_sn;
  double act_d, alpha_d;
  if (!get_offsets(env, argv[7], batch, &bias_off) || !get_offsets(env, argv[12], batch, &prelu_off)) {
    return throw_error(env, "bias/prelu offsets must be null or a Float64Array with one entry per batch");
  }
  if (!get_index(env, argv[8], &bias_sm) || !get_index(env, argv[9], &bias_sn) ||
      !get_index(env, argv[13], &prelu_sm) || !get_index(env, argv[14], &prelu_sn)) {
    return throw_error(env, "bias/prelu strides must be non-negative integers");
  }
  if (!get_f64(env, argv[10], &act_d) || !get_f64(env, argv[11], &alpha_d)) {
    return throw_error(env, "activation and alpha must be numbers");
  }
  const int act = (int)act_d;
  if (act_d != (double)act || act < ACT_LINEAR || act > ACT_ELU) return throw_error(env, "unknown activation code");
  if (act == ACT_PRELU && prelu_off == NULL) return throw_error(env, "prelu needs prelu weights");
  const float alpha = (float)alpha_d;

  const int64_t a_extent = m * k, b_extent = k * n, c_extent = m * n;
  const int64_t bias_extent = m > 0 && n > 0 ? (m - 1) * bias_sm + (n - 1) * bias_sn + 1 : 0;
  const int64_t prelu_extent = m > 0 && n > 0 ? (m - 1) * prelu_sm + (n - 1) * prelu_sn + 1 : 0;
  for (size_t i = 0; i < batch; i++) {
    const double* o = offsets + 3 * i;
    if (!offset_ok(o[0], a_extent, heap_len) || !offset_ok(o[1], b_extent, heap_len) ||
        !offset_ok(o[2], c_extent, heap_len)) {
      return throw_error(env, "an operand lies outside the heap");
    }
    if (bias_off && !offset_ok(bias_off[i], bias_extent, heap_len)) return throw_error(env, "bias lies outside the heap");
    if (prelu_off && !offset_ok(prelu_off[i], prelu_extent, heap_len)) {
      return throw_error(env, "prelu weights lie outside the heap");
    }
  }

  if (m == 0 || n == 0) return NULL;
  const int lda = trans_a ? (int)m : (int)k;
  const int ldb = trans_b ? (int)k : (int)n;
  for (size_t i = 0; i < batch; i++) {
    const double* o = offsets + 3 * i;
    float* c = heap + (size_t)o[2];
    if (k == 0) {
      /* BLAS rejects a zero leading dimension; an empty sum is zero. */
      memset(c, 0, (size_t)c_extent * sizeof(float));
    } else {
      BLAS_SGEMM(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                  (int)n, (int)k, 1.0f, heap + (size_t)o[0], lda, heap + (size_t)o[1], ldb, 0.0f, c, (int)n);
    }
    if (bias_off == NULL && act == ACT_LINEAR) continue;
    const float* bias = bias_off ? heap + (size_t)bias_off[i] : NULL;
    const float* prelu = prelu_off ? heap + (size_t)prelu_off[i] : NULL;
    for (int64_t r = 0; r < m; r++) {
      float* row = c + r * n;
      const float* bias_row = bias ? bias + r * bias_sm : NULL;
      const float* prelu_row = prelu ? prelu + r * prelu_sm : NULL;
      for (int64_t j = 0; j < n; j++) {
        float x = row[j];
        if (bias_row) x += bias_row[j * bias_sn];
        row[j] = activate(x, act, alpha, prelu_row ? prelu_row[j * prelu_sn] : 0.0f);
      }
    }
  }
  return NULL;
}

static napi_value set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

/* Which BLAS was linked and how many threads it uses, for logs and model metadata. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, threads;
  napi_create_object(env, &obj);
#if defined(SLIPWAY_BLAS_ACCELERATE)
  set_string(env, obj, "blas", "accelerate");
  set_string(env, obj, "config", "Apple Accelerate");
  napi_create_int32(env, 0, &threads);
#elif defined(SLIPWAY_BLAS_OPENBLAS)
  set_string(env, obj, "blas", "openblas");
  set_string(env, obj, "config", BLAS_GET_CONFIG());
  set_string(env, obj, "core", BLAS_GET_CORENAME());
  napi_create_int32(env, BLAS_GET_NUM_THREADS(), &threads);
#else
  set_string(env, obj, "blas", "cblas");
  set_string(env, obj, "config", "generic CBLAS");
  napi_create_int32(env, 0, &threads);
#endif
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

/* OpenBLAS threads busy-wait between calls; callers sharing cores may want fewer. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !get_index(env, argv[0], &n) || n < 1 || n > 1024) {
    return throw_error(env, "setThreads expects an integer between 1 and 1024");
  }
#if defined(SLIPWAY_BLAS_OPENBLAS)
  BLAS_SET_NUM_THREADS((int)n);
#endif
  return NULL;
}

/*
 * NAPI_MODULE_INIT: the addon may be loaded by several threads (Node worker_threads) at once. It
 * keeps no process-global state of its own; every trainer lives in its own handle.
 */
NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  trainer_register(env, exports);
  return exports;
}
