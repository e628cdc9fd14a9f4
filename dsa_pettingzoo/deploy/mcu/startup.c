/*
 * startup.c: reset and fault handlers of the bare-metal firmware (no OS, no C runtime).
 * Reset enables the FPU, copies .data from flash, zeroes .bss, paints the free RAM
 * below the stack with a pattern (so that main can measure how deep the stack went),
 * then runs main and exits through semihosting with its result.
 */
#include <stdint.h>

#include "semihost.h"

#define STACK_PAINT 0xA5C3E10Fu

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
int main(void);

/* Bytes of stack used so far: from the top of RAM down to the lowest overwritten word. */
uint32_t stack_high_water(void) {
    const uint32_t *p = &__bss_end;
    while (p < &__stack_top && *p == STACK_PAINT) ++p;
    return (uint32_t)((const char *)&__stack_top - (const char *)p);
}

void Reset_Handler(void) {
    /* Full access to coprocessors 10 and 11 (the FPU) before any float instruction. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* Below this function's frame: 16 words of margin for the loop itself. */
    for (uint32_t *p = &__bss_end; p < sp - 16;) *p++ = STACK_PAINT;
    semihost_exit(main() == 0);
}

static void Fault_Handler(void) {
    semihost_write("fault: the firmware took a processor exception\n");
    semihost_exit(0);
}

/* Cortex-M vector table: initial stack pointer, then the 15 system exception handlers. */
__attribute__((section(".isr_vector"), used)) static void *const vectors[16] = {
    &__stack_top, (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler, 0, 0, 0, 0,
    (void *)Fault_Handler, (void *)Fault_Handler, 0, (void *)Fault_Handler, (void *)Fault_Handler,
};
