#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
// zlib, for two things the faster libraries lack: inflate's Z_BLOCK stop at deflate block
// boundaries (to find the last block of a libdeflate stream) and crc32_combine.
#include <zlib.h>

// inflateInit2 is a macro (it passes zlib's version and struct size), which Swift cannot call.
static inline int czlib_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -15);
}
#endif
