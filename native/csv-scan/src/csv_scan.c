// The hot loop of Slipway's CSV byte scanner (domain/data/csvRows.ts), in C: reads a block of
// plain numeric CSV lines straight from the input buffer into doubles. It is an accelerator, never
// a judge: it takes only the lines it can read exactly as the JavaScript scanner would, and stops at
// the first other line (a blank line, spaces, an exponent, a quote, a long number, a bad cell, an
// unfinished line), which the JavaScript scanner then reads, or reports, itself.
//
// A number it takes is an optional '-', digits, and an optional '.' with digits, directly followed
// by ',' or the line's end, with fewer than 2^53 as its digits read as an integer and at most 22
// of them after the point. Its value is that integer divided by 10^k: two exact doubles and one
// IEEE 754 division, correctly rounded, the same double Number() and the JavaScript scanner give.
#include <stdint.h>
#include <string.h>

#include <node_api.h>

#define MAX_EXACT 9007199254740991ULL /* 2^53 - 1 */
#define MAX_LINE_BYTES (1024 * 1024)  /* domain/data/csvRows.ts MAX_FAST_LINE_BYTES */

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Bytes the scanner refuses anywhere in a line (csvRows.ts REFUSED): controls but tab and LF, DEL
// and above, and the quote.
static uint8_t REFUSED[256];

static void init_refused(void) {
  for (int c = 0; c < 256; c++) REFUSED[c] = (c < 32 && c != 9 && c != 10) || c >= 127 || c == 34;
}

/**
 * One line [p, end): fills values[slot] for feature fields and *label for the target field.
 * Returns 1 when the line is one it takes, else 0 (values may be partly written).
 */
static int scan_line(const uint8_t* p, const uint8_t* end, int32_t width, const int32_t* slots,
                     int32_t target, double* values, uint8_t* label) {
  for (int32_t field = 0; field < width; field++) {
    const uint8_t* start = p;
    int32_t slot = slots[field];
    if (slot >= 0) {
      int negative = 0;
      if (p < end && *p == '-') {
        negative = 1;
        p++;
      }
      uint64_t mantissa = 0;
      int digits = 0, decimals = 0;
      while (p < end && (unsigned)(*p - '0') <= 9) {
        if (++digits > 17) return 0;
        mantissa = mantissa * 10 + (uint64_t)(*p++ - '0');
      }
      if (p < end && *p == '.') {
        p++;
        while (p < end && (unsigned)(*p - '0') <= 9) {
          if (++digits > 17) return 0;
          mantissa = mantissa * 10 + (uint64_t)(*p++ - '0');
          decimals++;
        }
      }
      if (digits == 0 || mantissa > MAX_EXACT || decimals > 22) return 0;
      if (p < end && *p != ',') return 0;
      double value = decimals == 0 ? (double)mantissa : (double)mantissa / POW10[decimals];
      values[slot] = negative ? -value : value;
    } else {
      while (p < end && *p != ',') {
        if (REFUSED[*p]) return 0;
        p++;
      }
    }
    if (field == target) {
      // A label is exactly "0" or "1" here; anything else is read (or refused) by cells.ts.
      if (p - start != 1 || (*start != '0' && *start != '1')) return 0;
      *label = (uint8_t)(*start - '0');
    }
    if (field == width - 1) return p == end;
    if (p >= end) return 0;
    p++;
  }
  return 0;
}

static int get_typed(napi_env env, napi_value v, void** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) == napi_ok;
}

/**
 * scanLines(buf: Uint8Array, pos: number, width: number, slots: Int32Array, target: number,
 *           values: Float64Array, labels: Uint8Array, starts: Int32Array, ends: Int32Array): number
 *
 * Reads complete lines (ending in '\n') of `buf` from offset `pos`, one row per line, until a line
 * it does not take, the buffer's end, or `labels.length` rows. Row r's values go to
 * values[r * nFeatures ...] (nFeatures = values.length / labels.length), its label to labels[r]
 * (when target >= 0), and its line's bounds (without the '\n') to starts[r] and ends[r].
 * Returns the number of rows read; the next unread line starts after ends[rows - 1].
 */
static napi_value scan_lines(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t* buf;
  size_t buf_len, slots_len, values_len, labels_len, starts_len, ends_len;
  int32_t *slots, *starts, *ends;
  double* values;
  uint8_t* labels;
  int64_t pos;
  int32_t width, target;
  if (argc < 9 || !get_typed(env, argv[0], (void**)&buf, &buf_len) ||
      napi_get_value_int64(env, argv[1], &pos) != napi_ok ||
      napi_get_value_int32(env, argv[2], &width) != napi_ok ||
      !get_typed(env, argv[3], (void**)&slots, &slots_len) ||
      napi_get_value_int32(env, argv[4], &target) != napi_ok ||
      !get_typed(env, argv[5], (void**)&values, &values_len) ||
      !get_typed(env, argv[6], (void**)&labels, &labels_len) ||
      !get_typed(env, argv[7], (void**)&starts, &starts_len) ||
      !get_typed(env, argv[8], (void**)&ends, &ends_len) || width <= 0 || (size_t)width > slots_len ||
      labels_len == 0 || starts_len < labels_len || ends_len < labels_len || pos < 0 ||
      (size_t)pos > buf_len || buf_len > INT32_MAX) {
    napi_throw_type_error(env, "CsvScanArgument", "scanLines: bad arguments");
    return NULL;
  }
  size_t n_features = values_len / labels_len;
  for (int32_t f = 0; f < width; f++)
    if (slots[f] >= (int32_t)n_features) {
      napi_throw_type_error(env, "CsvScanArgument", "scanLines: a slot beyond the values per row");
      return NULL;
    }
  const uint8_t* at = buf + pos;
  const uint8_t* limit = buf + buf_len;
  uint32_t rows = 0;
  while (rows < labels_len && at < limit) {
    const uint8_t* lf = memchr(at, '\n', (size_t)(limit - at));
    if (lf == NULL || lf - at > MAX_LINE_BYTES || lf == at) break;
    uint8_t label = 0;
    if (!scan_line(at, lf, width, slots, target, values + rows * n_features, &label)) break;
    labels[rows] = label;
    starts[rows] = (int32_t)(at - buf);
    ends[rows] = (int32_t)(lf - buf);
    rows++;
    at = lf + 1;
  }
  napi_value result;
  napi_create_uint32(env, rows, &result);
  return result;
}

NAPI_MODULE_INIT() {
  init_refused();
  napi_value fn;
  napi_create_function(env, "scanLines", NAPI_AUTO_LENGTH, scan_lines, NULL, &fn);
  napi_set_named_property(env, exports, "scanLines", fn);
  return exports;
}
