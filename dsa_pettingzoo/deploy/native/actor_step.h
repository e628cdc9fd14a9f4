/*
 * actor_step.h: the actor description that actor_step.c runs, shared by the host build
 * (dsa_pettingzoo/deploy/native.py, through ctypes) and the firmware
 * (dsa_pettingzoo/deploy/mcu/, where the generated actor.h fills these structs as const
 * data in flash). native.py mirrors the structs field by field and checks their sizes.
 */
#ifndef DSA_ACTOR_STEP_H
#define DSA_ACTOR_STEP_H

#include <stdint.h>

#define DSA_ABI_VERSION 4

#define DSA_DENSE 0 /* values: row-major [rows, cols] */
#define DSA_CSR 1   /* indptr [rows + 1], indices [nnz], values [nnz] */

#define DSA_FLOAT32 0 /* values are float: W[r][c] = value */
#define DSA_INT8 1    /* values are int8: W[r][c] = scales[r] * value */

#define DSA_ABSOLUTE 0 /* a CSR index is the column */
#define DSA_DELTA 1    /* a CSR index is the number of columns skipped since the row's previous
                          non-zero (the first counts from column 0): col = prev + 1 + index */

typedef struct {
    int32_t rows, cols;
    int32_t kind;         /* DSA_DENSE or DSA_CSR */
    int32_t value_type;   /* DSA_FLOAT32 or DSA_INT8 */
    int32_t index_bytes;  /* CSR index width: 1, 2 or 4 (unsigned) */
    int32_t index_mode;   /* DSA_ABSOLUTE or DSA_DELTA */
    int32_t indptr_bytes; /* CSR row pointer width: 2 or 4 (unsigned) */
    int32_t reserved;     /* 0; keeps the pointers 8-byte aligned on 64-bit hosts */
    const void *indptr;
    const void *indices;
    const void *values;
    const float *scales; /* [rows], DSA_INT8 only */
    const float *bias;   /* [rows], or NULL for a bias of zeros (not stored) */
} dsa_matrix;

typedef struct {
    int32_t obs_dim, num_actions, num_dense, lstm_layers, lstm_size, max_width;
    const dsa_matrix *dense; /* [num_dense] */
    const dsa_matrix *lstm;  /* [lstm_layers], fused [4H, in + H] acting on [x, h] */
    const dsa_matrix *head;  /* [num_actions, H] */
} dsa_actor;

int32_t dsa_actor_abi_version(void);
int32_t dsa_actor_sizeof_matrix(void);
int32_t dsa_actor_sizeof_actor(void);
void dsa_matvec(const dsa_matrix *m, const float *x, float *y);
void dsa_sigmoid(float *v, int32_t n);
void dsa_tanh(float *v, int32_t n);
/* work: 2 * max_width * batch floats; returns 0, or -1 for an inconsistent description
   (and for batch > 1 when built with DSA_SINGLE_COPY). */
int32_t dsa_actor_step(const dsa_actor *net, int32_t batch, const float *obs, float *h, float *c,
                       float *logits, float *work);

#endif
