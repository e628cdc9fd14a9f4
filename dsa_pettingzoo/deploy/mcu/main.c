/*
 * main.c: step one exported actor (actor.h, generated from a .dsaactor file by
 * dsa_pettingzoo.deploy.mcu.codegen) over the recorded observations and report through
 * semihosting, one line each:
 *   actions a_0 a_1 ...         greedy action per step (argmax of the logits, first on ties),
 *                               several lines of up to 50 actions
 *   checksum 0x........         FNV-1a 32 over the bytes of every step's float32 logits
 *   steps N
 *   stack_bytes N               the stack's high-water mark (startup.c)
 * The kernel is the host's: ../native/actor_step.c, built with -DDSA_SINGLE_COPY.
 */
#include <stdint.h>

#include "actor.h"
#include "actor_step.h"
#include "semihost.h"

uint32_t stack_high_water(void);

static float state_h[DSA_STATE_FLOATS], state_c[DSA_STATE_FLOATS];
static float work[DSA_WORK_FLOATS], obs[DSA_OBS_DIM], logits[DSA_NUM_ACTIONS];
static char line[512];

static char *put_text(char *out, const char *text) {
    while (*text) *out++ = *text++;
    return out;
}

static char *put_uint(char *out, uint32_t v, int base) {
    char digits[12];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % (uint32_t)base];
        v /= (uint32_t)base;
    } while (v);
    while (n) *out++ = digits[--n];
    return out;
}

static void put_line(char *end) {
    *end++ = '\n';
    *end = '\0';
    semihost_write(line);
}

static uint32_t fnv1a(uint32_t hash, const void *data, uint32_t bytes) {
    const uint8_t *p = (const uint8_t *)data;
    for (uint32_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 16777619u;
    return hash;
}

int main(void) {
    uint32_t checksum = 2166136261u;
    char *out = line;
    for (uint32_t t = 0; t < DSA_STEPS; ++t) {
        if (t % DSA_RESET_EVERY == 0)
            for (uint32_t j = 0; j < DSA_STATE_FLOATS; ++j) state_h[j] = state_c[j] = 0.0f;
        const float *y = dsa_obs_table + (uint32_t)dsa_obs_index[t] * DSA_OBS_DIM;
        for (uint32_t j = 0; j < DSA_OBS_DIM; ++j) obs[j] = y[j];
        if (dsa_actor_step(&dsa_net, 1, obs, state_h, state_c, logits, work) != 0) {
            semihost_write("error: the kernel refused the actor description\n");
            return 1;
        }
        checksum = fnv1a(checksum, logits, sizeof logits);
        uint32_t best = 0;
        for (uint32_t a = 1; a < DSA_NUM_ACTIONS; ++a)
            if (logits[a] > logits[best]) best = a;
        if (out == line) out = put_text(out, "actions");
        *out++ = ' ';
        out = put_uint(out, best, 10);
        if ((t + 1) % 50 == 0 || t + 1 == DSA_STEPS) {
            put_line(out);
            out = line;
        }
    }
    put_line(put_uint(put_text(line, "checksum 0x"), checksum, 16));
    put_line(put_uint(put_text(line, "steps "), DSA_STEPS, 10));
    put_line(put_uint(put_text(line, "stack_bytes "), stack_high_water(), 10));
    return 0;
}
