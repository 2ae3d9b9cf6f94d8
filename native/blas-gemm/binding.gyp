{
  # build.js sets SLIPWAY_BLAS_INCLUDE / SLIPWAY_BLAS_LIBS when the BLAS lives off the default paths,
  # and SLIPWAY_BLAS_DEFINES (e.g. SLIPWAY_BLAS_PREFIX=scipy_) for the OpenBLAS it provisions itself.
  "targets": [
    {
      "target_name": "blas_gemm",
      "sources": ["src/blas_gemm.c", "src/trainer.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-fno-math-errno", "-ffp-contract=off", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        [
          "OS=='mac'",
          {
            # Untested: no macOS machine here. Accelerate ships with the OS.
            "defines": ["SLIPWAY_BLAS_ACCELERATE=1", "ACCELERATE_NEW_LAPACK"],
            "libraries": ["-framework Accelerate"]
          },
          {
            "defines": ["SLIPWAY_BLAS_OPENBLAS=1", "<!@(node -p \"process.env.SLIPWAY_BLAS_DEFINES || ''\")"],
            "include_dirs": ["<!@(node -p \"process.env.SLIPWAY_BLAS_INCLUDE || ''\")"],
            "libraries": ["<!@(node -p \"process.env.SLIPWAY_BLAS_LIBS || '-lopenblas'\")"]
          }
        ]
      ]
    }
  ]
}
