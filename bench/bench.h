/* bench.h - shared by the benchmark's sources (bench/). */
#ifndef JACNET_BENCH_H
#define JACNET_BENCH_H

#include <stddef.h>

double bench_flops_forward(const size_t *sizes, size_t n_sizes, size_t n);
double bench_flops_backward(const size_t *sizes, size_t n_sizes, size_t n);
double bench_flops_penalty(const size_t *sizes, size_t n_sizes, size_t n, size_t r);
double bench_flops_plain(const size_t *sizes, size_t n_sizes, size_t n);
double bench_flops_jacobian(const size_t *sizes, size_t n_sizes, size_t n, size_t r);
double bench_flops_gemm(size_t m, size_t n, size_t k);

#endif
