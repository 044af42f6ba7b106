#ifndef CISAL_SHIM_H
#define CISAL_SHIM_H
// ISA-L's igzip: SIMD inflate (and deflate) for x86-64 and arm64, from Debian's libisal-dev.
#include <isa-l/igzip_lib.h>
#endif
