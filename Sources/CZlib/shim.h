#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
// zlib, for the one thing the faster libraries lack: crc32_combine (the CRC-32 of a
// single-member part from its chunks' CRC-32s).
#include <zlib.h>
#endif
