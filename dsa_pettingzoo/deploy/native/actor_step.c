/*
 * actor_step.c: one slot of an exported DSA actor (docs/deployment.md), in portable C99.
 *
 * This is the reference for how a device runs the exported-actor file: every
 * weight matrix is used as stored in the file's CSR encoding (row pointers,
 * column indices of 1, 2 or 4 bytes, float32 values), one multiply-add per
 * stored non-zero. A dense variant (the same loop over a dense matrix) is
 * here too, so that sparse and dense are compared on the same footing.
 *
 * The network (eq. 3 of the paper, our reading in rllib_experiments/modules.py):
 *   x = y_t;  x = ReLU(W_i x + b_i) for each dense layer;
 *   z = W [x, h] + b  (fused [4H, in + H] matrix, gate rows i, f, g, o);
 *   c = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c);  x = h;
 *   logits = W_head x + b_head  (the softmax / argmax is left to the caller).
 *
 * Built by dsa_pettingzoo/deploy/native.py with the system C compiler
 * (cc -O2 -shared -fPIC actor_step.c -lm) and called through ctypes. No
 * allocation, no globals: the caller owns every buffer.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define DSA_DENSE 0 /* values: row-major [rows, cols] */
#define DSA_CSR 1   /* indptr [rows + 1], indices [nnz], values [nnz] */

typedef struct {
    int32_t rows, cols;
    int32_t kind;        /* DSA_DENSE or DSA_CSR */
    int32_t index_bytes; /* CSR column index width: 1, 2 or 4 (unsigned) */
    const uint32_t *indptr;
    const void *indices;
    const float *values;
    const float *bias; /* [rows] */
} dsa_matrix;

typedef struct {
    int32_t obs_dim, num_actions, num_dense, lstm_layers, lstm_size, max_width;
    const dsa_matrix *dense; /* [num_dense] */
    const dsa_matrix *lstm;  /* [lstm_layers], fused [4H, in + H] acting on [x, h] */
    const dsa_matrix *head;  /* [num_actions, H] */
} dsa_actor;

/* ABI version: native.py checks it before calling anything else. */
int32_t dsa_actor_abi_version(void) { return 1; }

/* The struct sizes, so that the caller can check its mirror of them. */
int32_t dsa_actor_sizeof_matrix(void) { return (int32_t)sizeof(dsa_matrix); }
int32_t dsa_actor_sizeof_actor(void) { return (int32_t)sizeof(dsa_actor); }

/* CSR rows with column indices of type T: y[r] = b[r] + sum_j values[j] x[indices[j]]. */
#define DSA_CSR_ROWS(T)                                                   \
    do {                                                                  \
        const T *idx = (const T *)m->indices;                             \
        for (int32_t r = 0; r < m->rows; ++r) {                           \
            float s0 = 0.0f, s1 = 0.0f;                                   \
            uint32_t j = m->indptr[r], end = m->indptr[r + 1];            \
            for (; j + 1 < end; j += 2) {                                 \
                s0 += m->values[j] * x[idx[j]];                           \
                s1 += m->values[j + 1] * x[idx[j + 1]];                   \
            }                                                             \
            if (j < end) s0 += m->values[j] * x[idx[j]];                  \
            y[r] = m->bias[r] + (s0 + s1);                                \
        }                                                                 \
    } while (0)

/* y = W x + b for one matrix (x has m->cols entries, y has m->rows). */
static void matvec(const dsa_matrix *m, const float *x, float *y) {
    if (m->kind == DSA_CSR) {
        if (m->index_bytes == 1) DSA_CSR_ROWS(uint8_t);
        else if (m->index_bytes == 2) DSA_CSR_ROWS(uint16_t);
        else DSA_CSR_ROWS(uint32_t);
        return;
    }
    /* Dense: a row-major dot product per row with 16 partial sums (independent chains
       that the compiler may keep in vector registers without reassociating one sum). */
    for (int32_t r = 0; r < m->rows; ++r) {
        const float *w = m->values + (size_t)r * (size_t)m->cols;
        float s[16] = {0.0f}, t = 0.0f;
        int32_t j = 0;
        for (; j + 15 < m->cols; j += 16)
            for (int32_t q = 0; q < 16; ++q) s[q] += w[j + q] * x[j + q];
        for (; j < m->cols; ++j) t += w[j] * x[j];
        for (int32_t q = 0; q < 16; ++q) t += s[q];
        y[r] = m->bias[r] + t;
    }
}

/* One matrix alone, y = W x + b (for benchmarks and tests of the kernel itself). */
void dsa_matvec(const dsa_matrix *m, const float *x, float *y) { matvec(m, x, y); }

static float sigmoidf(float z) { return 1.0f / (1.0f + expf(-z)); }

/*
 * Advance `batch` independent copies of the actor by one slot.
 *   obs    [batch, obs_dim]          the observations y_t
 *   h, c   [lstm_layers, batch, H]   LSTM state, updated in place
 *   logits [batch, num_actions]      output
 *   work   [2 * max_width] floats    scratch
 * Returns 0, or -1 when the actor description is inconsistent.
 */
int32_t dsa_actor_step(const dsa_actor *net, int32_t batch, const float *obs, float *h, float *c,
                       float *logits, float *work) {
    const int32_t H = net->lstm_size, W = net->max_width;
    float *a = work, *b = work + W;
    if (net->head->cols != H || net->head->rows != net->num_actions) return -1;
    for (int32_t n = 0; n < batch; ++n) {
        int32_t width = net->obs_dim;
        for (int32_t j = 0; j < width; ++j) a[j] = obs[(size_t)n * (size_t)width + (size_t)j];
        for (int32_t i = 0; i < net->num_dense; ++i) { /* ReLU layers */
            const dsa_matrix *m = &net->dense[i];
            if (m->cols != width || m->rows > W) return -1;
            matvec(m, a, b);
            for (int32_t r = 0; r < m->rows; ++r) a[r] = b[r] > 0.0f ? b[r] : 0.0f;
            width = m->rows;
        }
        for (int32_t k = 0; k < net->lstm_layers; ++k) { /* LSTM cells, gates i, f, g, o */
            const dsa_matrix *m = &net->lstm[k];
            float *hk = h + ((size_t)k * (size_t)batch + (size_t)n) * (size_t)H;
            float *ck = c + ((size_t)k * (size_t)batch + (size_t)n) * (size_t)H;
            if (m->cols != width + H || m->rows != 4 * H || m->cols > W || m->rows > W) return -1;
            for (int32_t j = 0; j < H; ++j) a[width + j] = hk[j]; /* a = [x, h] */
            matvec(m, a, b);
            for (int32_t j = 0; j < H; ++j) {
                float ig = sigmoidf(b[j]), fg = sigmoidf(b[H + j]);
                float gg = tanhf(b[2 * H + j]), og = sigmoidf(b[3 * H + j]);
                ck[j] = fg * ck[j] + ig * gg;
                hk[j] = og * tanhf(ck[j]);
                a[j] = hk[j];
            }
            width = H;
        }
        matvec(net->head, a, logits + (size_t)n * (size_t)net->num_actions);
    }
    return 0;
}
