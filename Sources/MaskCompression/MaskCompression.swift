/*!
 MaskCompression: compression in and out, the only place that imports libdeflate, ISA-L, zlib
 and zstd.

 Output is compressed chunk by chunk on the workers, each chunk whole and in memory. gzip levels
 1...3 use ISA-L's SIMD deflate (four to five times libdeflate's level-6 speed for 10-16% more
 bytes), levels 4...9 libdeflate, whose whole-buffer deflate is two to three times as fast as zlib's at
 the same ratio (a level means gzip's ratio: 6 is libdeflate's 5, `GzipEngine`). A part is one gzip member by default (`GzipMemberFrame`,
 `GzipSpanEncoder`): chunks end in non-final blocks on a byte boundary, as pigz writes them, so
 readers that stop after one member still read everything (`DeflateBlockWalker` finds the final
 block libdeflate always writes; zlib supplies `crc32_combine`). Input uses
 ISA-L's streaming inflate, because input arrives as a stream of unknown length, possibly made of
 many members, and is inflated on the one reader thread, where ISA-L runs about three times as fast
 as zlib.
 */
