/*!
 MaskCore: the format-level building blocks of `mask`, with no C and no I/O.

 It owns the byte-level views of records (CSV today, JSONL through the same `RecordFormat`
 contract), the record-aligned chunk boundary search, and the small pure functions that
 policies need (normalisers, validators, UTF-8 aware partial masking).

 Key design choice: everything works on borrowed `UnsafeRawBufferPointer` slices of the input
 chunk and reports *spans*, never copies or `String`s. A record that a rule does not touch is
 therefore copied to the output as the very bytes that came in, and the hot loop allocates
 nothing per field. The trade-off is that callers must keep the chunk alive while they use spans,
 which the engine guarantees by processing one chunk inside one `withUnsafeBytes` scope.
 */
