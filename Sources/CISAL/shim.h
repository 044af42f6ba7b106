#ifndef CISAL_SHIM_H
#define CISAL_SHIM_H
// ISA-L's igzip: SIMD inflate (and deflate) for x86-64 and arm64, from Debian's libisal-dev.
#include <isa-l/igzip_lib.h>

// The level buffer sizes are macro expressions, which Swift does not import.
static inline unsigned cisal_level_buffer_size(int level) {
    switch (level) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    default: return ISAL_DEF_LVL3_DEFAULT;
    }
}
#endif
