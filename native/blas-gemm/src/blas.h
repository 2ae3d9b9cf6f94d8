/*
 * Which BLAS the addon is built over, behind one set of names. The OpenBLAS that Slipway
 * provisions itself (the scipy-openblas32 wheel) prefixes every symbol with `scipy_` so it can
 * live beside another OpenBLAS in one process; SLIPWAY_BLAS_PREFIX names that prefix and the
 * macros below paste it on, so the sources call BLAS_SGEMM whatever the build.
 */
#ifndef SLIPWAY_BLAS_H
#define SLIPWAY_BLAS_H

#if defined(SLIPWAY_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#define SLIPWAY_PASTE2(a, b) a##b
#define SLIPWAY_PASTE(a, b) SLIPWAY_PASTE2(a, b)

#if defined(SLIPWAY_BLAS_PREFIX)
#define BLAS_NAME(name) SLIPWAY_PASTE(SLIPWAY_BLAS_PREFIX, name)
#else
#define BLAS_NAME(name) name
#endif

#define BLAS_SGEMM BLAS_NAME(cblas_sgemm)

#if defined(SLIPWAY_BLAS_OPENBLAS)
#define BLAS_GET_CONFIG BLAS_NAME(openblas_get_config)
#define BLAS_GET_CORENAME BLAS_NAME(openblas_get_corename)
#define BLAS_GET_NUM_THREADS BLAS_NAME(openblas_get_num_threads)
#define BLAS_SET_NUM_THREADS BLAS_NAME(openblas_set_num_threads)
#endif

#endif
