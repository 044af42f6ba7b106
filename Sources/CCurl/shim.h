#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
// libcurl's easy interface, the HTTP client of the object stores (MaskObjectStore/HTTPTransport).
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed
// wrapper per kind of argument.
typedef size_t (*mask_curl_data_callback)(char *, size_t, size_t, void *);

static inline CURLcode mask_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode mask_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode mask_curl_set_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode mask_curl_set_callback(CURL *handle, CURLoption option, mask_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode mask_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
