/*!
 MaskEngine: masking one chunk of records is a pure function of (rules, key, chunk bytes).

 Nothing here does I/O or knows about threads: `CSVChunkMasker.mask` and `JSONLChunkMasker.mask`
 (both `ChunkMasking`) take the bytes of a record-aligned chunk and return the masked bytes, statistics, malformed-record reports and
 (masked) rejects. Because the function is pure and chunk boundaries never change how a record
 is read, output bytes do not depend on chunk size or thread count, which the pipeline relies on.

 Output is built by splicing: runs of untouched fields (and whole untouched records) are copied
 as one span from the input; only changed fields are re-encoded. Per-worker mutable state
 (PCRE2 match data, scratch buffers) lives in `MaskScratch`, created once per worker.
 */
