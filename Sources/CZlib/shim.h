#ifndef BASETAP_CZLIB_SHIM_H
#define BASETAP_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 is a macro; Swift sees only functions.
static inline int basetap_deflate_init(z_stream *stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
}

// inflateInit2 is a macro too.
static inline int basetap_inflate_init(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
#endif
