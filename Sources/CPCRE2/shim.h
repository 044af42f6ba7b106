#ifndef CPCRE2_SHIM_H
#define CPCRE2_SHIM_H
// PCRE2 selects its code-unit width with a macro; Swift cannot set it, so it is fixed here:
// mask matches raw UTF-8 bytes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
