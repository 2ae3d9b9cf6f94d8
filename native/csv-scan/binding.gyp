{
  "targets": [
    {
      "target_name": "csv_scan",
      "sources": ["src/csv_scan.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-ffp-contract=off"]
    }
  ]
}
