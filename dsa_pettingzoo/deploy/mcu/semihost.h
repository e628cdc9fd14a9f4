/*
 * semihost.h: output and exit through Arm semihosting (BKPT 0xAB), which QEMU serves with
 * -semihosting-config enable=on,target=native. On a real board a debugger serves it; a
 * board without one would print to a UART instead.
 */
#ifndef DSA_SEMIHOST_H
#define DSA_SEMIHOST_H

#include <stdint.h>

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026 /* QEMU exits with status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023    /* QEMU exits with status 1 */

static inline int32_t semihost_call(int32_t op, const void *arg) {
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static inline void semihost_write(const char *text) { semihost_call(SYS_WRITE0, text); }

static inline void semihost_exit(int ok) {
    semihost_call(SYS_EXIT,
                  (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) {
    }
}

#endif
