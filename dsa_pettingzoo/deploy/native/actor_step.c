/*
 * actor_step.c: one slot of an exported DSA actor (docs/deployment.md), in portable C99.
 *
 * This is the reference for how a device runs the exported-actor file: every
 * weight matrix is used in CSR (row pointers of 2 or 4 bytes, column indices of
 * 1, 2 or 4 bytes, absolute or as deltas, float32 or int8 values with one float
 * scale per row), one multiply-add per stored non-zero, float32 sums. A dense
 * variant (the same loop over a dense matrix) is here too, so that sparse and
 * dense are compared on the same footing. The same source is the firmware's
 * kernel (dsa_pettingzoo/deploy/mcu/, built with arm-none-eabi-gcc for a
 * Cortex-M4F, -DDSA_SINGLE_COPY): the structs are in actor_step.h.
 *
 * The network (eq. 3 of the paper, our reading in rllib_experiments/modules.py):
 *   x = y_t;  x = ReLU(W_i x + b_i) for each dense layer;
 *   z = W [x, h] + b  (fused [4H, in + H] matrix, gate rows i, f, g, o);
 *   c = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c);  x = h;
 *   logits = W_head x + b_head  (the softmax / argmax is left to the caller).
 *
 * Built by dsa_pettingzoo/deploy/native.py with the system C compiler
 * (cc -O3 -std=c99 -fno-trapping-math -shared -fPIC actor_step.c -lm; the flag lets the
 * compiler vectorise the clamps of the activations) and called through ctypes. No
 * allocation, no globals: the caller owns every buffer. Only C99 and <math.h>'s fabsf
 * and copysignf (both inlined by gcc), so it builds free-standing too.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "actor_step.h"

/* native.py checks the ABI version before calling anything else. */
int32_t dsa_actor_abi_version(void) { return DSA_ABI_VERSION; }

/* The struct sizes, so that the caller can check its mirror of them. */
int32_t dsa_actor_sizeof_matrix(void) { return (int32_t)sizeof(dsa_matrix); }
int32_t dsa_actor_sizeof_actor(void) { return (int32_t)sizeof(dsa_actor); }

static uint32_t row_start(const dsa_matrix *m, int32_t r) {
    if (m->indptr_bytes == 2) return ((const uint16_t *)m->indptr)[r];
    return ((const uint32_t *)m->indptr)[r];
}

/* Row r's bias; a NULL bias is all zeros (a pruned bias, not stored). Adding 0.0f gives
   the same bits as adding a stored zero. */
static inline float bias_at(const dsa_matrix *m, int32_t r) { return m->bias ? m->bias[r] : 0.0f; }

/* A row's sum of products s (of the stored values) -> y[r]. An int8 row is scaled once,
   after the sum, so the loop multiplies converted integers and stays one multiply-add. */
#define DSA_FINISH(INT8, s) ((INT8) ? bias_at(m, r) + m->scales[r] * (s) : bias_at(m, r) + (s))

/* CSR rows with indices of type T, values of type V, absolute (DELTA 0) or delta columns:
   y[r] = b[r] + (scale[r]) sum_j values[j] x[column j]. Two partial sums per row. */
#define DSA_CSR_ROWS(NAME, T, V, INT8, DELTA)                                       \
    static void NAME(const dsa_matrix *m, const float *x, float *y) {              \
        const T *idx = (const T *)m->indices;                                      \
        const V *val = (const V *)m->values;                                       \
        for (int32_t r = 0; r < m->rows; ++r) {                                    \
            float s0 = 0.0f, s1 = 0.0f;                                            \
            uint32_t j = row_start(m, r), end = row_start(m, r + 1);               \
            uint32_t col = (uint32_t)-1;                                           \
            for (; j + 1 < end; j += 2) {                                          \
                const uint32_t c0 = (DELTA) ? col + 1u + idx[j] : idx[j];          \
                const uint32_t c1 = (DELTA) ? c0 + 1u + idx[j + 1] : idx[j + 1];   \
                col = c1;                                                          \
                s0 += (float)val[j] * x[c0];                                       \
                s1 += (float)val[j + 1] * x[c1];                                   \
            }                                                                      \
            if (j < end) s0 += (float)val[j] * x[(DELTA) ? col + 1u + idx[j] : idx[j]]; \
            y[r] = DSA_FINISH(INT8, s0 + s1);                                      \
        }                                                                          \
    }

DSA_CSR_ROWS(csr_f_u8, uint8_t, float, 0, 0)
DSA_CSR_ROWS(csr_f_u16, uint16_t, float, 0, 0)
DSA_CSR_ROWS(csr_f_u32, uint32_t, float, 0, 0)
DSA_CSR_ROWS(csr_f_d8, uint8_t, float, 0, 1)
DSA_CSR_ROWS(csr_f_d16, uint16_t, float, 0, 1)
DSA_CSR_ROWS(csr_f_d32, uint32_t, float, 0, 1)
DSA_CSR_ROWS(csr_q_u8, uint8_t, int8_t, 1, 0)
DSA_CSR_ROWS(csr_q_u16, uint16_t, int8_t, 1, 0)
DSA_CSR_ROWS(csr_q_u32, uint32_t, int8_t, 1, 0)
DSA_CSR_ROWS(csr_q_d8, uint8_t, int8_t, 1, 1)
DSA_CSR_ROWS(csr_q_d16, uint16_t, int8_t, 1, 1)
DSA_CSR_ROWS(csr_q_d32, uint32_t, int8_t, 1, 1)

typedef void (*dsa_rows_fn)(const dsa_matrix *, const float *, float *);
/* [value_type][index_mode][index width 1, 2, 4] */
static const dsa_rows_fn csr_rows[2][2][3] = {
    {{csr_f_u8, csr_f_u16, csr_f_u32}, {csr_f_d8, csr_f_d16, csr_f_d32}},
    {{csr_q_u8, csr_q_u16, csr_q_u32}, {csr_q_d8, csr_q_d16, csr_q_d32}},
};

/* Dense rows of values of type V: a row-major dot product per row with 16 partial sums
   (independent chains that the compiler may keep in vector registers without
   reassociating one sum). */
#define DSA_DENSE_ROWS(NAME, V, INT8)                                              \
    static void NAME(const dsa_matrix *m, const float *x, float *y) {             \
        for (int32_t r = 0; r < m->rows; ++r) {                                   \
            const V *w = (const V *)m->values + (size_t)r * (size_t)m->cols;       \
            float s[16] = {0.0f}, t = 0.0f;                                       \
            int32_t j = 0;                                                        \
            for (; j + 15 < m->cols; j += 16)                                     \
                for (int32_t q = 0; q < 16; ++q) s[q] += (float)w[j + q] * x[j + q]; \
            for (; j < m->cols; ++j) t += (float)w[j] * x[j];                     \
            for (int32_t q = 0; q < 16; ++q) t += s[q];                           \
            y[r] = DSA_FINISH(INT8, t);                                           \
        }                                                                         \
    }

DSA_DENSE_ROWS(dense_f, float, 0)
DSA_DENSE_ROWS(dense_q, int8_t, 1)

static int valid_matrix(const dsa_matrix *m) {
    if (m->value_type != DSA_FLOAT32 && m->value_type != DSA_INT8) return 0;
    if (m->value_type == DSA_INT8 && m->scales == NULL) return 0;
    if (m->kind == DSA_DENSE) return 1;
    return m->kind == DSA_CSR && (m->index_mode == DSA_ABSOLUTE || m->index_mode == DSA_DELTA) &&
           (m->index_bytes == 1 || m->index_bytes == 2 || m->index_bytes == 4) &&
           (m->indptr_bytes == 2 || m->indptr_bytes == 4);
}

/* y = W x + b for one (valid) matrix (x has m->cols entries, y has m->rows). */
static void matvec(const dsa_matrix *m, const float *x, float *y) {
    const int q = m->value_type == DSA_INT8;
    if (m->kind == DSA_CSR) {
        csr_rows[q][m->index_mode][m->index_bytes == 1 ? 0 : m->index_bytes == 2 ? 1 : 2](m, x, y);
        return;
    }
    (q ? dense_q : dense_f)(m, x, y);
}

/* One matrix alone, y = W x + b (for benchmarks and tests of the kernel itself);
   an invalid description leaves y untouched. */
void dsa_matvec(const dsa_matrix *m, const float *x, float *y) {
    if (valid_matrix(m)) matvec(m, x, y);
}

/* ---------------------------------------------------------------- activations
 * Branch-free float32 expm1, so that the loops over the gates vectorise (libm's expf
 * and tanhf are calls, about 6 ns each: most of a slot at 95% sparsity otherwise).
 * y = k ln2 + r with k = round(y / ln2) and |r| <= ln2 / 2 (Cody-Waite: ln2 split into
 * a 9-bit high part, so k ln2_hi is exact); e^r - 1 by its Taylor series up to r^8
 * (truncation < 3e-9 |r|); e^y - 1 = 2^k (e^r - 1) + (2^k - 1), exact at k = 0, so
 * small arguments keep their relative accuracy. y is clamped to [-87, 87].
 */
static float expm1_f(float y) {
    y = y < -87.0f ? -87.0f : y;
    y = y > 87.0f ? 87.0f : y;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float t = y * 1.44269504088896341f + magic;
    const float kf = t - magic;
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);
    const int32_t k = bits - 0x4B400000; /* the integer kf, from t's mantissa */
    const float r = (y - kf * 0.693359375f) - kf * -2.12194440e-4f;
    const float q =
        r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (
            1.0f / 720 + r * (1.0f / 5040 + r * (1.0f / 40320))))))));
    const int32_t pbits = (k + 127) << 23; /* 2^k as a float, k in [-126, 126] */
    float p2;
    memcpy(&p2, &pbits, sizeof p2);
    return p2 * q + (p2 - 1.0f);
}

/* v = sigmoid(v) = 1 / (1 + e^-v) = 1 / (2 + expm1(-v)), in place. */
static void sigmoid_all(float *v, size_t n) {
    for (size_t e = 0; e < n; ++e) v[e] = 1.0f / (2.0f + expm1_f(-v[e]));
}

/* v = tanh(v) = sign(v) m / (m + 2) with m = expm1(2 |v|), in place. */
static void tanh_all(float *v, size_t n) {
    for (size_t e = 0; e < n; ++e) {
        const float m = expm1_f(2.0f * fabsf(v[e]));
        v[e] = copysignf(m / (m + 2.0f), v[e]);
    }
}

/* The activations alone, in place (for tests of their accuracy). */
void dsa_sigmoid(float *v, int32_t n) { sigmoid_all(v, (size_t)n); }
void dsa_tanh(float *v, int32_t n) { tanh_all(v, (size_t)n); }

/*
 * The LSTM cell for B copies. z: the gates W [x, h] + b, [4H][B] (rows i, f, g, o),
 * overwritten; h, c: the state, copy n's unit j at n * H + j, updated; x: the new h
 * as the next layer's input, [H][B].
 *   c = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c)
 */
static void lstm_cell(float *z, float *x, float *h, float *c, int32_t H, int32_t B) {
    const size_t HB = (size_t)H * (size_t)B;
    sigmoid_all(z, 2 * HB);      /* i, f */
    tanh_all(z + 2 * HB, HB);    /* g */
    sigmoid_all(z + 3 * HB, HB); /* o */
    for (int32_t j = 0; j < H; ++j)
        for (int32_t n = 0; n < B; ++n) {
            const size_t e = (size_t)j * B + n, s = (size_t)n * H + j;
            c[s] = z[HB + e] * c[s] + z[e] * z[2 * HB + e];
            x[e] = c[s];
        }
    tanh_all(x, HB);
    for (int32_t j = 0; j < H; ++j)
        for (int32_t n = 0; n < B; ++n) {
            const size_t e = (size_t)j * B + n;
            x[e] *= z[3 * HB + e];
            h[(size_t)n * H + j] = x[e];
        }
}

#ifndef DSA_SINGLE_COPY /* a device that runs one copy leaves the batched path out of its flash */
/* ---------------------------------------------------------------- batches (B > 1)
 * Layer by layer for all B copies at once, activations feature-major [width][B], so
 * that each stored weight multiplies DSA_BLOCK copies held in registers.
 */
#define DSA_BLOCK 8

static uint32_t index_at(const dsa_matrix *m, uint32_t j) {
    if (m->index_bytes == 1) return ((const uint8_t *)m->indices)[j];
    if (m->index_bytes == 2) return ((const uint16_t *)m->indices)[j];
    return ((const uint32_t *)m->indices)[j];
}

static float value_at(const dsa_matrix *m, size_t j) {
    if (m->value_type == DSA_INT8) return (float)((const int8_t *)m->values)[j];
    return ((const float *)m->values)[j];
}

/* The next column of a row: dense j, CSR absolute index, or CSR previous + 1 + delta. */
static uint32_t next_column(const dsa_matrix *m, uint32_t j, uint32_t previous) {
    if (m->kind != DSA_CSR) return j;
    return m->index_mode == DSA_DELTA ? previous + 1u + index_at(m, j) : index_at(m, j);
}

/* Y[r][n] = b[r] + sum_c W[r][c] X[c][n] for n < B (X [cols][B], Y [rows][B]). */
static void matmat(const dsa_matrix *m, const float *X, float *Y, int32_t B) {
    const size_t stride = (size_t)B;
    const int q8 = m->value_type == DSA_INT8;
    for (int32_t r = 0; r < m->rows; ++r) {
        float *y = Y + (size_t)r * stride;
        uint32_t start = 0, end = (uint32_t)m->cols;
        size_t base = (size_t)r * (size_t)m->cols; /* value of entry j: base + j */
        if (m->kind == DSA_CSR) {
            start = row_start(m, r);
            end = row_start(m, r + 1);
            base = 0;
        }
        const float init = q8 ? 0.0f : bias_at(m, r);
        int32_t n0 = 0;
        for (; n0 + DSA_BLOCK <= B; n0 += DSA_BLOCK) {
            float acc[DSA_BLOCK];
            for (int32_t q = 0; q < DSA_BLOCK; ++q) acc[q] = init;
            uint32_t col = (uint32_t)-1;
            for (uint32_t j = start; j < end; ++j) {
                col = next_column(m, j, col);
                const float v = value_at(m, base + j);
                const float *x = X + (size_t)col * stride + (size_t)n0;
                for (int32_t q = 0; q < DSA_BLOCK; ++q) acc[q] += v * x[q];
            }
            for (int32_t q = 0; q < DSA_BLOCK; ++q)
                y[n0 + q] = q8 ? bias_at(m, r) + m->scales[r] * acc[q] : acc[q];
        }
        for (; n0 < B; ++n0) { /* the last B mod DSA_BLOCK copies */
            float acc = init;
            uint32_t col = (uint32_t)-1;
            for (uint32_t j = start; j < end; ++j) {
                col = next_column(m, j, col);
                acc += value_at(m, base + j) * X[(size_t)col * stride + (size_t)n0];
            }
            y[n0] = q8 ? bias_at(m, r) + m->scales[r] * acc : acc;
        }
    }
}

static int32_t step_batch(const dsa_actor *net, int32_t batch, const float *obs, float *h,
                          float *c, float *logits, float *work) {
    const int32_t H = net->lstm_size, W = net->max_width, B = batch;
    float *a = work, *b = work + (size_t)W * (size_t)B;
    int32_t width = net->obs_dim;
    for (int32_t n = 0; n < B; ++n) /* a = obs transposed: [obs_dim][B] */
        for (int32_t j = 0; j < width; ++j) a[(size_t)j * B + n] = obs[(size_t)n * width + j];
    for (int32_t i = 0; i < net->num_dense; ++i) { /* ReLU layers */
        const dsa_matrix *m = &net->dense[i];
        if (m->cols != width || m->rows > W || !valid_matrix(m)) return -1;
        matmat(m, a, b, B);
        for (size_t e = 0; e < (size_t)m->rows * (size_t)B; ++e) a[e] = b[e] > 0.0f ? b[e] : 0.0f;
        width = m->rows;
    }
    for (int32_t k = 0; k < net->lstm_layers; ++k) { /* LSTM cells, gates i, f, g, o */
        const dsa_matrix *m = &net->lstm[k];
        float *hk = h + (size_t)k * (size_t)B * (size_t)H;
        float *ck = c + (size_t)k * (size_t)B * (size_t)H;
        if (m->cols != width + H || m->rows != 4 * H || m->cols > W || m->rows > W ||
            !valid_matrix(m))
            return -1;
        for (int32_t n = 0; n < B; ++n) /* a = [x, h] */
            for (int32_t j = 0; j < H; ++j) a[(size_t)(width + j) * B + n] = hk[(size_t)n * H + j];
        matmat(m, a, b, B);
        lstm_cell(b, a, hk, ck, H, B);
        width = H;
    }
    matmat(net->head, a, b, B);
    for (int32_t n = 0; n < B; ++n)
        for (int32_t r = 0; r < net->num_actions; ++r)
            logits[(size_t)n * net->num_actions + r] = b[(size_t)r * B + n];
    return 0;
}
#endif

/*
 * Advance `batch` independent copies of the actor by one slot.
 *   obs    [batch, obs_dim]          the observations y_t
 *   h, c   [lstm_layers, batch, H]   LSTM state, updated in place
 *   logits [batch, num_actions]      output
 *   work   [2 * max_width * batch] floats of scratch
 * Batch 1 runs each matrix row by row (a device's case); a larger batch runs every
 * layer for all copies at once (matmat). Returns 0, or -1 when the actor
 * description is inconsistent.
 */
int32_t dsa_actor_step(const dsa_actor *net, int32_t batch, const float *obs, float *h, float *c,
                       float *logits, float *work) {
    const int32_t H = net->lstm_size, W = net->max_width;
    float *a = work, *b = work + W;
    if (net->head->cols != H || net->head->rows != net->num_actions || !valid_matrix(net->head))
        return -1;
#ifdef DSA_SINGLE_COPY
    if (batch != 1) return -1;
#else
    if (batch > 1) return step_batch(net, batch, obs, h, c, logits, work);
#endif
    {
        int32_t width = net->obs_dim;
        for (int32_t j = 0; j < width; ++j) a[j] = obs[j];
        for (int32_t i = 0; i < net->num_dense; ++i) { /* ReLU layers */
            const dsa_matrix *m = &net->dense[i];
            if (m->cols != width || m->rows > W || !valid_matrix(m)) return -1;
            matvec(m, a, b);
            for (int32_t r = 0; r < m->rows; ++r) a[r] = b[r] > 0.0f ? b[r] : 0.0f;
            width = m->rows;
        }
        for (int32_t k = 0; k < net->lstm_layers; ++k) { /* LSTM cells, gates i, f, g, o */
            const dsa_matrix *m = &net->lstm[k];
            float *hk = h + (size_t)k * (size_t)H, *ck = c + (size_t)k * (size_t)H;
            if (m->cols != width + H || m->rows != 4 * H || m->cols > W || m->rows > W ||
                !valid_matrix(m))
                return -1;
            for (int32_t j = 0; j < H; ++j) a[width + j] = hk[j]; /* a = [x, h] */
            matvec(m, a, b);
            lstm_cell(b, a, hk, ck, H, 1);
            width = H;
        }
        matvec(net->head, a, logits);
    }
    return 0;
}
