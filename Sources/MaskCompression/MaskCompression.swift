/*!
 MaskCompression: gzip in and gzip out, the only place that imports libdeflate and ISA-L.

 Output uses libdeflate because each chunk is compressed whole, in memory, into one gzip member
 (RFC 1952 allows a file to be a concatenation of members): libdeflate's whole-buffer deflate is
 about twice as fast as zlib's streaming deflate at the same level and ratio, and whole-buffer is
 exactly what per-chunk parallel compression needs. Input uses ISA-L's streaming inflate, because
 input arrives as a stream of unknown length, possibly made of many members (pigz, our own output),
 and is inflated on the one reader thread, where ISA-L's SIMD inflate runs about three times as
 fast as zlib's.
 */
