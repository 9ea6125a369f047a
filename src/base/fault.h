/* fault.h - allocation-failure injection for the test build only.
 *
 * Compiled in only with -DJN_FAULT_INJECTION (make check-oom, mk/oom.mk);
 * the release library has none of it. The functions are hidden like every
 * internal one, so a test reaches them by linking the static library of
 * that build. The counters are per thread: a test arms failures in its own
 * thread without disturbing any other. */
#ifndef JACNET_FAULT_H
#define JACNET_FAULT_H

#ifdef JN_FAULT_INJECTION
/* Count allocations from now on and make the k-th one fail (k = 0: none);
 * with persistent != 0 every allocation after it fails too. */
void jn__fault_arm(unsigned long k, int persistent);
/* Allocations made since the last jn__fault_arm, failed ones included. */
unsigned long jn__fault_calls(void);
/* Allocations made to fail since the last jn__fault_arm. */
unsigned long jn__fault_failures(void);
#endif

#endif
