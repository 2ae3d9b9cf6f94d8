/*
 * A fused trainer for Slipway's dense model family: one call runs a whole training step (gather
 * the batch's rows, forward, class-weighted binary cross-entropy, backward, optimiser update) over
 * cblas_sgemm, with no per-op dispatch in between. domain/ml/nativeTrainer.ts drives it; the
 * formulas follow tfjs 4.22 op by op (see the comments), so a model trained here and one trained
 * by domain/ml/train.ts on tfjs agree to float rounding, and their weights and optimiser slots
 * round-trip through the same checkpoints.
 *
 * Weights and optimiser slots live in caller-owned Float32Arrays, passed on every call: all
 * weights concatenated in tfjs order (kernel [in, out] row-major, then bias, per dense layer),
 * slot1/slot2 the same length (Adam m and v; RMSProp mean square and momentum; unused by SGD).
 * A trainer handle holds only its shape and scratch buffers, so each thread (worker_threads) can
 * have its own, and the addon keeps no global state.
 *
 * Two cores: every batch is cut into SHARDS fixed halves of rows; each shard runs forward and
 * backward on its own scratch with a single-threaded sgemm, and the shard gradients are added in
 * shard order. The cut does not depend on how many threads run the shards, so a run gives the same
 * bits on 1 thread or 2 (setTrainerThreads), and the thread count can be chosen by measurement
 * without changing the model. Splitting the batch, rather than asking the BLAS for threads, also
 * splits the elementwise work (activations, dropout, loss) and avoids the BLAS's per-call thread
 * hand-off, which on a [2048 x 256] x [256 x 256] GEMM costs as much as the second core brings.
 */
#include "trainer.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"

enum { KIND_DENSE = 0, KIND_DROPOUT = 1 };
/* The order of denseActivations in domain/ml/modelSpec.ts. */
enum { ACT_LINEAR = 0, ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_ELU, ACT_SELU, ACT_SOFTPLUS, ACT_COUNT };
enum { OPT_ADAM = 0, OPT_SGD = 1, OPT_RMSPROP = 2 };

/* tfjs's backend epsilon for float32 (cpu and wasm backends), Adam's and RMSProp's default. */
#define TF_EPSILON 1e-7f
#define SELU_SCALE 1.0507009873554804934193349852946f
#define SELU_SCALEALPHA 1.7580993408473768599402175208123f

typedef struct {
  int kind;
  int in, out; /* widths; a dropout layer has in == out */
  int act;
  float rate;
  size_t w_off, b_off; /* dense: kernel and bias offsets in the weight vector */
} Layer;

/* One shard's activations and scratch, per layer; sized for a shard's rows. */
typedef struct {
  float* z;       /* pre-activation, kept only where the gradient needs it (selu, softplus) */
  float* a;       /* own output buffer [shard rows, out] */
  float* mask;    /* dropout: 0 or 1/keep per element */
  const float* y; /* this step's output (a, or the input when a dropout is a no-op) */
} LayerState;

typedef struct {
  LayerState* states; /* one per layer */
  float* grad;        /* this shard's gradient of every weight [n_params] */
  float* d0;          /* backward scratch [shard rows, max_width], two of them */
  float* d1;
} Shard;

/* Fixed, so results never depend on the thread count (see the top of the file). */
#define SHARDS 2

typedef struct {
  int n_layers, n_inputs, max_batch, max_width, optimizer, first_dense, threads;
  float lr;
  size_t n_params;
  Layer* layers;
  Shard shards[SHARDS];
  float* xb;   /* gathered batch rows [max_batch, n_inputs] */
  float* grad; /* gradient of every weight [n_params]: the shards' sum */
  uint8_t* labels; /* the batch's labels and class weights [max_batch] */
  float* sample_w;
} Trainer;

/* Rows of a batch of n that shard k takes: shard 0 the first ceil(n / 2), shard 1 the rest. */
static inline int shard_rows(int n, int k) { return k == 0 ? (n + 1) / 2 : n / 2; }
static inline int shard_first_row(int n, int k) { return k == 0 ? 0 : (n + 1) / 2; }

/* ---- counter-based dropout masks ---------------------------------------------------------- */

/*
 * murmur3's 32-bit finaliser, a bijective mix. The draw for element j under seed s is
 * fmix32((j * golden) ^ s): distinct elements get distinct draws, and different seeds (already
 * well mixed by deriveSeed) give unrelated masks. 32-bit integer work, so the loop vectorises.
 */
static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* Hot loops get AVX2 and AVX-512 clones picked at load time (glibc ifunc); -ffp-contract=off in
   binding.gyp keeps every clone's results bit-identical to the baseline's. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define HOT __attribute__((target_clones("default", "avx2", "arch=skylake-avx512")))
#else
#define HOT
#endif

/* Dropout forward: mask[j] = 1/keep where the uniform draw u_j >= rate, else 0; out = in * mask.
   u_j has 24 bits, exact in float32. */
HOT static void dropout_forward(const float* in, float* out, float* mask, size_t count, size_t base, uint32_t seed,
                                float rate, float scale) {
  for (size_t j = 0; j < count; j++) {
    /* base: the shard's first element in the whole batch, so a mask does not depend on the cut */
    const float u = (float)(fmix32((uint32_t)(base + j) * 0x9e3779b9u ^ seed) >> 8) * (1.0f / 16777216.0f);
    const float m = u >= rate ? scale : 0.0f;
    mask[j] = m;
    out[j] = in[j] * m;
  }
}

HOT static void multiply_in_place(float* d, const float* m, size_t count) {
  for (size_t j = 0; j < count; j++) d[j] *= m[j];
}

/* ---- activations, as tfjs computes them ------------------------------------------------- */

static inline float act_forward(int act, float x) {
  switch (act) {
    case ACT_RELU:
      return x < 0.0f ? 0.0f : x;
    case ACT_SIGMOID:
      return 1.0f / (1.0f + expf(-x));
    case ACT_TANH:
      return tanhf(x);
    case ACT_ELU:
      return x >= 0.0f ? x : expm1f(x);
    case ACT_SELU:
      return x > 0.0f ? SELU_SCALE * x : SELU_SCALEALPHA * expm1f(x);
    case ACT_SOFTPLUS: {
      /* tfjs's Softplus: x where it is large, exp(x) where it is very negative, else log(1 + e^x). */
      const float threshold = -13.942385152878742f; /* log(float32 epsilon) + 2 */
      if (x > -threshold) return x;
      if (x < threshold) return expf(x);
      return log1pf(expf(x));
    }
    default:
      return x;
  }
}

static inline int act_needs_z(int act) { return act == ACT_SELU || act == ACT_SOFTPLUS; }

/* d output / d pre-activation, from the output y (or z where tfjs's gradient uses the input). */
static inline float act_derivative(int act, float y, float z) {
  switch (act) {
    case ACT_RELU:
      return y > 0.0f ? 1.0f : 0.0f;
    case ACT_SIGMOID:
      return y * (1.0f - y);
    case ACT_TANH:
      return 1.0f - y * y;
    case ACT_ELU:
      return y >= 0.0f ? 1.0f : y + 1.0f;
    case ACT_SELU:
      return z > 0.0f ? SELU_SCALE : SELU_SCALEALPHA * expf(z);
    case ACT_SOFTPLUS:
      return 1.0f / (1.0f + expf(-z));
    default:
      return 1.0f;
  }
}

/* ---- the step ------------------------------------------------------------------------------ */

/* z += bias (per column), a = act(z); z and a may be the same buffer. One loop per activation,
   so the common ones (relu, linear) vectorise. */
HOT static void bias_activation(int act, float* z, float* a, const float* b, int n, int out) {
  for (int r = 0; r < n; r++) {
    float* zr = z + (size_t)r * out;
    float* ar = a + (size_t)r * out;
    switch (act) {
      case ACT_RELU:
        for (int c = 0; c < out; c++) {
          const float v = zr[c] + b[c];
          zr[c] = v;
          ar[c] = v < 0.0f ? 0.0f : v;
        }
        break;
      case ACT_LINEAR:
        for (int c = 0; c < out; c++) {
          const float v = zr[c] + b[c];
          zr[c] = v;
          ar[c] = v;
        }
        break;
      default:
        for (int c = 0; c < out; c++) {
          const float v = zr[c] + b[c];
          zr[c] = v;
          ar[c] = act_forward(act, v);
        }
    }
  }
}

/* d *= act'(z), from the output a (or z where tfjs's gradient uses the input). */
HOT static void activation_backward(int act, float* d, const float* a, const float* z, size_t count) {
  switch (act) {
    case ACT_LINEAR:
      return;
    case ACT_RELU:
      for (size_t j = 0; j < count; j++) d[j] = a[j] > 0.0f ? d[j] : 0.0f;
      return;
    case ACT_SIGMOID:
      for (size_t j = 0; j < count; j++) d[j] *= a[j] * (1.0f - a[j]);
      return;
    case ACT_TANH:
      for (size_t j = 0; j < count; j++) d[j] *= 1.0f - a[j] * a[j];
      return;
    case ACT_ELU:
      for (size_t j = 0; j < count; j++) d[j] *= a[j] >= 0.0f ? 1.0f : a[j] + 1.0f;
      return;
    default:
      for (size_t j = 0; j < count; j++) d[j] *= act_derivative(act, a[j], z[j]);
  }
}

/* Column sums of d [n, out] into g [out]. */
HOT static void column_sums(const float* d, float* g, int n, int out) {
  memset(g, 0, sizeof(float) * (size_t)out);
  for (int r = 0; r < n; r++) {
    const float* dr = d + (size_t)r * out;
    for (int c = 0; c < out; c++) g[c] += dr[c];
  }
}

/* Forward pass of n rows through shard S; row0 is the first row's index in the whole batch (for
   the dropout masks). */
static void forward(const Trainer* t, Shard* S, const float* w, const float* input, int n, int row0,
                    const uint32_t* seeds) {
  const float* cur = input;
  int dropout_index = 0;
  for (int i = 0; i < t->n_layers; i++) {
    const Layer* L = &t->layers[i];
    LayerState* st = &S->states[i];
    if (L->kind == KIND_DENSE) {
      float* z = st->z ? st->z : st->a;
      BLAS_SGEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, L->out, L->in, 1.0f, cur, L->in, w + L->w_off,
                 L->out, 0.0f, z, L->out);
      bias_activation(L->act, z, st->a, w + L->b_off, n, L->out);
      st->y = st->a;
    } else {
      if (seeds != NULL && L->rate > 0.0f) {
        /* tfjs: x * floor(u + keep) / keep, i.e. kept where u >= rate, scaled by 1/keep. */
        const float keep = 1.0f - L->rate;
        dropout_forward(cur, st->a, st->mask, (size_t)n * L->out, (size_t)row0 * L->out, seeds[dropout_index],
                        L->rate, 1.0f / keep);
        st->y = st->a;
      } else {
        st->y = cur;
      }
      dropout_index++;
    }
    cur = st->y;
  }
}

/*
 * Loss and gradient of a forward pass already run on shard S (n of the batch's n_total rows), into
 * S->grad. Returns the sum of the rows' weighted losses. tfjs's weightedBce: p clipped to
 * [1e-7, 1 - 1e-7], loss_i = -(y log p + (1 - y) log(1 - p)), mean of loss_i * w_i over the batch.
 * Its gradient: zero where the clip is active, then through the sigmoid as dy * p * (1 - p).
 */
static double backward(const Trainer* t, Shard* S, const float* w, const float* input, int n, int n_total,
                       const uint8_t* labels, const float* weights, int training) {
  const LayerState* last = &S->states[t->n_layers - 1];
  const float lo = 1e-7f, hi = 1.0f - 1e-7f;
  const float inv_n = 1.0f / (float)n_total;
  double loss = 0.0;
  float* D = S->d0;
  float* D2 = S->d1;
  for (int r = 0; r < n; r++) {
    const float p = last->a[r];
    const float y = labels[r] ? 1.0f : 0.0f;
    const float pc = p < lo ? lo : (p > hi ? hi : p);
    const float li = -(y * logf(pc) + (1.0f - y) * logf(1.0f - pc));
    loss += (double)(li * weights[r]);
    const float dl = weights[r] * inv_n;
    const float dpc = -dl * (y / pc - (1.0f - y) / (1.0f - pc));
    const float dp = (p >= lo && p <= hi) ? dpc : 0.0f;
    D[r] = dp * (p * (1.0f - p));
  }
  /* D holds d loss / d z of the last (sigmoid) layer. */
  int d_is_dz = 1;
  for (int i = t->n_layers - 1; i >= 0; i--) {
    const Layer* L = &t->layers[i];
    const LayerState* st = &S->states[i];
    const float* in = i == 0 ? input : S->states[i - 1].y;
    if (L->kind == KIND_DENSE) {
      const size_t count = (size_t)n * L->out;
      if (!d_is_dz) activation_backward(L->act, D, st->a, st->z, count);
      d_is_dz = 0;
      BLAS_SGEMM(CblasRowMajor, CblasTrans, CblasNoTrans, L->in, L->out, n, 1.0f, in, L->in, D, L->out, 0.0f,
                 S->grad + L->w_off, L->out);
      column_sums(D, S->grad + L->b_off, n, L->out);
      if (i > t->first_dense) {
        BLAS_SGEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->in, L->out, 1.0f, D, L->out, w + L->w_off, L->out,
                   0.0f, D2, L->in);
        float* s = D;
        D = D2;
        D2 = s;
      }
    } else if (i > t->first_dense && training && L->rate > 0.0f) {
      multiply_in_place(D, st->mask, (size_t)n * L->out);
    }
    if (i <= t->first_dense) break;
  }
  return loss;
}

/* ---- running the shards ------------------------------------------------------------------- */

typedef struct {
  const Trainer* t;
  Shard* shard;
  const float* w;
  const float* x; /* the whole batch's rows (training) or the rows to predict */
  const uint32_t* seeds;
  int n_total, row0, rows, backward; /* backward: 0 forward only, 1 forward and backward */
  double loss;
} ShardJob;

static void run_shard(ShardJob* j) {
  const Trainer* t = j->t;
  const float* in = j->x + (size_t)j->row0 * t->n_inputs;
  forward(t, j->shard, j->w, in, j->rows, j->row0, j->seeds);
  if (j->backward)
    j->loss = backward(t, j->shard, j->w, in, j->rows, j->n_total, t->labels + j->row0, t->sample_w + j->row0,
                       j->seeds != NULL);
}

static void* run_shard_thread(void* arg) {
  run_shard((ShardJob*)arg);
  return NULL;
}

/* Runs both shards' jobs: on a second thread and this one when the trainer has 2 threads (and the
   second thread could be started), else one after the other. Either way the same arithmetic. */
static void run_shards(const Trainer* t, ShardJob* jobs, int count) {
  pthread_t other;
  int started = 0;
  if (t->threads > 1 && count > 1) started = pthread_create(&other, NULL, run_shard_thread, &jobs[1]) == 0;
  run_shard(&jobs[0]);
  if (started)
    pthread_join(other, NULL);
  else
    for (int k = 1; k < count; k++) run_shard(&jobs[k]);
}

/* Forward and backward over the gathered batch of n rows; the gradient lands in t->grad.
   Returns the batch's mean loss. */
static double loss_and_grad(Trainer* t, const float* w, int n, const uint32_t* seeds) {
  ShardJob jobs[SHARDS];
  int count = 0;
  for (int k = 0; k < SHARDS; k++) {
    const int rows = shard_rows(n, k);
    if (rows == 0) continue;
    jobs[count++] = (ShardJob){t, &t->shards[k], w, t->xb, seeds, n, shard_first_row(n, k), rows, 1, 0.0};
  }
  run_shards(t, jobs, count);
  double loss = 0.0;
  memcpy(t->grad, t->shards[0].grad, sizeof(float) * t->n_params);
  loss += jobs[0].loss;
  for (int k = 1; k < count; k++) {
    const float* g = jobs[k].shard->grad;
    for (size_t j = 0; j < t->n_params; j++) t->grad[j] += g[j];
    loss += jobs[k].loss;
  }
  return loss / (double)n;
}

/* tfjs's update formulas, in its operation order; step is 1-based. */
HOT static void apply_update(Trainer* t, float* w, float* s1, float* s2, double step) {
  const size_t count = t->n_params;
  const float* g = t->grad;
  if (t->optimizer == OPT_SGD) {
    const float c = -t->lr;
    for (size_t j = 0; j < count; j++) w[j] = c * g[j] + w[j];
    return;
  }
  if (t->optimizer == OPT_RMSPROP) {
    /* decay 0.9, momentum 0, not centred (tf.train.rmsprop's defaults). */
    const float decay = 0.9f, one_minus = (float)(1.0 - 0.9), lr = t->lr;
    for (size_t j = 0; j < count; j++) {
      const float ms = s1[j] * decay + (g[j] * g[j]) * one_minus;
      const float mom = s2[j] * 0.0f + (g[j] * lr) / sqrtf(ms + TF_EPSILON);
      s1[j] = ms;
      s2[j] = mom;
      w[j] = w[j] - mom;
    }
    return;
  }
  /* Adam, beta1 0.9, beta2 0.999, as Keras computes it (domain/ml/kerasAdam.ts says why, and is
     the tfjs twin in the same operation order): alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t),
     w -= m alpha / (sqrt(v) + epsilon). beta^t is formed as tfjs keeps it, a float32 variable
     multiplied once per step, so the same product is formed here from the step count (resumes
     land on the same bits). */
  const float beta1 = 0.9f, beta2 = 0.999f;
  const float one_minus_b1 = (float)(1.0 - 0.9), one_minus_b2 = (float)(1.0 - 0.999);
  float acc1 = beta1, acc2 = beta2;
  for (double s = 1; s < step; s++) {
    acc1 *= beta1;
    acc2 *= beta2;
  }
  const float c1 = 1.0f - acc1, c2 = 1.0f - acc2;
  const float alpha = (t->lr * sqrtf(c2)) / c1;
  for (size_t j = 0; j < count; j++) {
    const float m = s1[j] * beta1 + g[j] * one_minus_b1;
    const float v = s2[j] * beta2 + (g[j] * g[j]) * one_minus_b2;
    s1[j] = m;
    s2[j] = v;
    w[j] = w[j] - (m * alpha) / (sqrtf(v) + TF_EPSILON);
  }
}

/* ---- N-API plumbing ------------------------------------------------------------------------ */

static napi_value fail(napi_env env, const char* message) {
  napi_throw_error(env, "NativeTrainerArgument", message);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static int int_arg(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != floor(d) || d < (double)lo || d > (double)hi) return 0;
  *out = (int64_t)d;
  return 1;
}

static void shard_free(Shard* S, int n_layers) {
  if (S->states) {
    for (int i = 0; i < n_layers; i++) {
      free(S->states[i].z);
      free(S->states[i].a);
      free(S->states[i].mask);
    }
  }
  free(S->states);
  free(S->grad);
  free(S->d0);
  free(S->d1);
}

static void trainer_free(Trainer* t) {
  if (!t) return;
  for (int k = 0; k < SHARDS; k++) shard_free(&t->shards[k], t->n_layers);
  free(t->layers);
  free(t->xb);
  free(t->grad);
  free(t->labels);
  free(t->sample_w);
  free(t);
}

static void finalize_trainer(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  trainer_free((Trainer*)data);
}

static float* alloc_floats(size_t count) { return (float*)calloc(count ? count : 1, sizeof(float)); }

/* A shard's buffers for up to `rows` rows; 0 when out of memory. */
static int shard_alloc(Shard* S, const Trainer* t, int rows) {
  S->states = (LayerState*)calloc((size_t)t->n_layers, sizeof(LayerState));
  if (!S->states) return 0;
  for (int i = 0; i < t->n_layers; i++) {
    const Layer* L = &t->layers[i];
    LayerState* st = &S->states[i];
    const size_t cells = (size_t)rows * L->out;
    st->a = alloc_floats(cells);
    if (!st->a) return 0;
    if (L->kind == KIND_DENSE && act_needs_z(L->act) && !(st->z = alloc_floats(cells))) return 0;
    if (L->kind == KIND_DROPOUT && !(st->mask = alloc_floats(cells))) return 0;
  }
  S->grad = alloc_floats(t->n_params);
  S->d0 = alloc_floats((size_t)rows * t->max_width);
  S->d1 = alloc_floats((size_t)rows * t->max_width);
  return S->grad && S->d0 && S->d1;
}

/*
 * createTrainer(nInputs, kinds Int32Array, units Int32Array, activations Int32Array,
 *               rates Float64Array, optimizer, learningRate, maxBatch) -> handle
 * kinds: 0 dense, 1 dropout (units ignored). The last layer must be dense(1, sigmoid).
 */
static napi_value create_trainer(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 8) return fail(env, "createTrainer expects 8 arguments");
  int64_t n_inputs, optimizer, max_batch;
  double lr;
  void *kinds_p, *units_p, *acts_p, *rates_p;
  size_t nk, nu, na, nr;
  if (!int_arg(env, argv[0], 1, 1 << 24, &n_inputs)) return fail(env, "nInputs must be a positive integer");
  if (!typed(env, argv[1], napi_int32_array, &kinds_p, &nk) || !typed(env, argv[2], napi_int32_array, &units_p, &nu) ||
      !typed(env, argv[3], napi_int32_array, &acts_p, &na) || !typed(env, argv[4], napi_float64_array, &rates_p, &nr) ||
      nk == 0 || nu != nk || na != nk || nr != nk) {
    return fail(env, "kinds, units, activations (Int32Array) and rates (Float64Array) must have one entry per layer");
  }
  if (!int_arg(env, argv[5], 0, 2, &optimizer)) return fail(env, "optimizer must be 0 (adam), 1 (sgd) or 2 (rmsprop)");
  if (napi_get_value_double(env, argv[6], &lr) != napi_ok || !(lr > 0)) return fail(env, "learningRate must be > 0");
  if (!int_arg(env, argv[7], 1, 1 << 22, &max_batch)) return fail(env, "maxBatch must be a positive integer");
  const int32_t* kinds = (const int32_t*)kinds_p;
  const int32_t* units = (const int32_t*)units_p;
  const int32_t* acts = (const int32_t*)acts_p;
  const double* rates = (const double*)rates_p;

  Trainer* t = (Trainer*)calloc(1, sizeof(Trainer));
  if (!t) return fail(env, "out of memory");
  t->n_layers = (int)nk;
  t->n_inputs = (int)n_inputs;
  t->max_batch = (int)max_batch;
  t->optimizer = (int)optimizer;
  t->lr = (float)lr;
  t->first_dense = -1;
  t->layers = (Layer*)calloc(nk, sizeof(Layer));
  if (!t->layers) {
    trainer_free(t);
    return fail(env, "out of memory");
  }
  int width = (int)n_inputs, max_width = width;
  size_t offset = 0;
  const char* problem = NULL;
  for (int i = 0; i < (int)nk && !problem; i++) {
    Layer* L = &t->layers[i];
    L->kind = kinds[i];
    L->in = width;
    if (L->kind == KIND_DENSE) {
      if (units[i] < 1) problem = "a dense layer needs units >= 1";
      else if (acts[i] < 0 || acts[i] >= ACT_COUNT) problem = "unknown activation code";
      L->out = units[i];
      L->act = acts[i];
      L->w_off = offset;
      offset += (size_t)L->in * L->out;
      L->b_off = offset;
      offset += (size_t)L->out;
      if (t->first_dense < 0) t->first_dense = i;
    } else if (L->kind == KIND_DROPOUT) {
      if (!(rates[i] >= 0 && rates[i] < 1)) problem = "a dropout rate must be in [0, 1)";
      L->out = width;
      L->rate = (float)rates[i];
    } else {
      problem = "unknown layer kind";
    }
    if (problem) break;
    width = L->out;
    if (width > max_width) max_width = width;
  }
  const Layer* last = &t->layers[nk - 1];
  if (!problem && (last->kind != KIND_DENSE || last->out != 1 || last->act != ACT_SIGMOID))
    problem = "the last layer must be dense with 1 unit and a sigmoid";
  if (!problem) {
    t->n_params = offset;
    t->max_width = max_width;
    t->xb = alloc_floats((size_t)max_batch * n_inputs);
    t->grad = alloc_floats(offset);
    t->labels = (uint8_t*)calloc((size_t)max_batch, 1);
    t->sample_w = alloc_floats((size_t)max_batch);
    t->threads = 1;
    if (!t->xb || !t->grad || !t->labels || !t->sample_w) problem = "out of memory";
    for (int k = 0; k < SHARDS && !problem; k++)
      if (!shard_alloc(&t->shards[k], t, shard_rows(max_batch, 0))) problem = "out of memory";
  }
  if (problem) {
    trainer_free(t);
    return fail(env, problem);
  }
  napi_value handle;
  if (napi_create_external(env, t, finalize_trainer, NULL, &handle) != napi_ok) {
    trainer_free(t);
    return fail(env, "could not create the trainer handle");
  }
  return handle;
}

static Trainer* get_trainer(napi_env env, napi_value v) {
  void* data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (Trainer*)data;
}

/* The weight vector and, when asked, the two slot vectors, each exactly n_params long. */
static int get_weights(napi_env env, Trainer* t, napi_value v, float** out) {
  void* p;
  size_t len;
  if (!typed(env, v, napi_float32_array, &p, &len) || len != t->n_params) return 0;
  *out = (float*)p;
  return 1;
}

/*
 * Gathers rows order[start .. start+n) of x (row-major [nRows, nInputs]) into the trainer's batch
 * buffer, with their labels and class weights. argv: x, y, order, start, n, wNegative, wPositive.
 * Returns an error message, or NULL.
 */
static const char* gather(napi_env env, Trainer* t, napi_value* argv, int* n_out) {
  void *x_p, *y_p, *order_p;
  size_t x_len, y_len, order_len;
  int64_t start, n;
  double w_neg, w_pos;
  if (!typed(env, argv[0], napi_float32_array, &x_p, &x_len) || !typed(env, argv[1], napi_uint8_array, &y_p, &y_len) ||
      x_len != y_len * (size_t)t->n_inputs)
    return "x must be a Float32Array of nRows x nInputs and y a Uint8Array of nRows labels";
  if (!typed(env, argv[2], napi_uint32_array, &order_p, &order_len)) return "order must be a Uint32Array";
  if (!int_arg(env, argv[3], 0, (int64_t)order_len, &start) || !int_arg(env, argv[4], 1, t->max_batch, &n) ||
      (size_t)(start + n) > order_len)
    return "start and n must pick 1..maxBatch entries of order";
  if (napi_get_value_double(env, argv[5], &w_neg) != napi_ok || napi_get_value_double(env, argv[6], &w_pos) != napi_ok)
    return "class weights must be numbers";
  const float* x = (const float*)x_p;
  const uint8_t* y = (const uint8_t*)y_p;
  const uint32_t* order = (const uint32_t*)order_p;
  for (int64_t i = 0; i < n; i++) {
    const uint32_t row = order[start + i];
    if ((size_t)row >= y_len) return "order holds a row index past the end of x";
    memcpy(t->xb + (size_t)i * t->n_inputs, x + (size_t)row * t->n_inputs, sizeof(float) * (size_t)t->n_inputs);
    t->labels[i] = y[row] == 1;
    t->sample_w[i] = (float)(y[row] == 1 ? w_pos : w_neg);
  }
  *n_out = (int)n;
  return NULL;
}

/* Dropout seeds: a Uint32Array with one seed per dropout layer of the spec, or null (no dropout). */
static const char* get_seeds(napi_env env, Trainer* t, napi_value v, const uint32_t** out) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) == napi_ok && (type == napi_null || type == napi_undefined)) {
    *out = NULL;
    return NULL;
  }
  void* p;
  size_t len;
  int dropouts = 0;
  for (int i = 0; i < t->n_layers; i++) dropouts += t->layers[i].kind == KIND_DROPOUT;
  if (!typed(env, v, napi_uint32_array, &p, &len) || len != (size_t)dropouts)
    return "seeds must be null or a Uint32Array with one seed per dropout layer";
  *out = (const uint32_t*)p;
  return NULL;
}

static napi_value number(napi_env env, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  return v;
}

/*
 * trainBatch(trainer, weights, slot1, slot2, x, y, order, start, n, wNegative, wPositive, step,
 *            seeds) -> loss of the batch before the update. step: 1-based optimiser step.
 */
static napi_value train_batch(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 13) return fail(env, "trainBatch expects 13 arguments");
  Trainer* t = get_trainer(env, argv[0]);
  if (!t) return fail(env, "the first argument must be a trainer handle");
  float *w, *s1, *s2;
  if (!get_weights(env, t, argv[1], &w) || !get_weights(env, t, argv[2], &s1) || !get_weights(env, t, argv[3], &s2))
    return fail(env, "weights, slot1 and slot2 must be Float32Arrays with one value per parameter");
  int n;
  const char* problem = gather(env, t, argv + 4, &n);
  if (problem) return fail(env, problem);
  double step;
  if (napi_get_value_double(env, argv[11], &step) != napi_ok || !(step >= 1) || step != floor(step))
    return fail(env, "step must be an integer >= 1");
  const uint32_t* seeds;
  if ((problem = get_seeds(env, t, argv[12], &seeds))) return fail(env, problem);
  const double loss = loss_and_grad(t, w, n, seeds);
  apply_update(t, w, s1, s2, step);
  return number(env, loss);
}

/*
 * lossAndGradient(trainer, weights, x, y, order, start, n, wNegative, wPositive, seeds, gradient)
 * -> loss. The same forward and backward as trainBatch, without the update: for gradient checks.
 */
static napi_value loss_and_gradient(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 11) return fail(env, "lossAndGradient expects 11 arguments");
  Trainer* t = get_trainer(env, argv[0]);
  if (!t) return fail(env, "the first argument must be a trainer handle");
  float *w, *g;
  if (!get_weights(env, t, argv[1], &w) || !get_weights(env, t, argv[10], &g))
    return fail(env, "weights and gradient must be Float32Arrays with one value per parameter");
  int n;
  const char* problem = gather(env, t, argv + 2, &n);
  if (problem) return fail(env, problem);
  const uint32_t* seeds;
  if ((problem = get_seeds(env, t, argv[9], &seeds))) return fail(env, problem);
  const double loss = loss_and_grad(t, w, n, seeds);
  memcpy(g, t->grad, sizeof(float) * t->n_params);
  return number(env, loss);
}

/* predict(trainer, weights, x, out): probabilities of every row of x, in batches of maxBatch. */
static napi_value predict(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 4) return fail(env, "predict expects 4 arguments");
  Trainer* t = get_trainer(env, argv[0]);
  if (!t) return fail(env, "the first argument must be a trainer handle");
  float* w;
  if (!get_weights(env, t, argv[1], &w)) return fail(env, "weights must be a Float32Array with one value per parameter");
  void *x_p, *out_p;
  size_t x_len, out_len;
  if (!typed(env, argv[2], napi_float32_array, &x_p, &x_len) || !typed(env, argv[3], napi_float32_array, &out_p, &out_len) ||
      x_len != out_len * (size_t)t->n_inputs)
    return fail(env, "x must be a Float32Array of nRows x nInputs and out a Float32Array of nRows");
  const float* x = (const float*)x_p;
  float* out = (float*)out_p;
  const int last = t->n_layers - 1;
  for (size_t start = 0; start < out_len; start += (size_t)t->max_batch) {
    const int n = (int)(out_len - start < (size_t)t->max_batch ? out_len - start : (size_t)t->max_batch);
    ShardJob jobs[SHARDS];
    int count = 0;
    for (int k = 0; k < SHARDS; k++) {
      const int rows = shard_rows(n, k);
      if (rows == 0) continue;
      jobs[count++] = (ShardJob){t, &t->shards[k], w, x + start * (size_t)t->n_inputs, NULL, n,
                                 shard_first_row(n, k), rows, 0, 0.0};
    }
    run_shards(t, jobs, count);
    for (int k = 0; k < count; k++)
      memcpy(out + start + jobs[k].row0, jobs[k].shard->states[last].a, sizeof(float) * (size_t)jobs[k].rows);
  }
  return NULL;
}

/* setTrainerThreads(trainer, 1 | 2): run the batch's two shards one after the other or at once. */
static napi_value set_trainer_threads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Trainer* t = argc == 2 ? get_trainer(env, argv[0]) : NULL;
  int64_t threads;
  if (!t || !int_arg(env, argv[1], 1, SHARDS, &threads))
    return fail(env, "setTrainerThreads expects a trainer handle and 1 or 2 threads");
  t->threads = (int)threads;
  return NULL;
}

/* parameterCount(trainer) -> number of weights the trainer expects. */
static napi_value parameter_count(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Trainer* t = argc == 1 ? get_trainer(env, argv[0]) : NULL;
  if (!t) return fail(env, "parameterCount expects a trainer handle");
  return number(env, (double)t->n_params);
}

void trainer_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createTrainer", NULL, create_trainer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trainBatch", NULL, train_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lossAndGradient", NULL, loss_and_gradient, NULL, NULL, NULL, napi_enumerable, NULL},
      {"predict", NULL, predict, NULL, NULL, NULL, napi_enumerable, NULL},
      {"parameterCount", NULL, parameter_count, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTrainerThreads", NULL, set_trainer_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
