/// How masked output is compressed: each chunk on its own worker into a self-contained unit that
/// a reader can concatenate (a gzip member, a zstd frame), so output is parallel and identical
/// whatever the thread count.
public enum OutputCodec: String, Sendable, CaseIterable {
    case gzip
    case zstd

    /// The level used when none is given: gzip 6 (as gzip and pigz), zstd 3 (as the zstd CLI).
    public var defaultLevel: Int {
        switch self {
        case .gzip: return 6
        case .zstd: return 3
        }
    }

    /// The file name suffix of a compressed part.
    public var fileExtension: String {
        switch self {
        case .gzip: return ".gz"
        case .zstd: return ".zst"
        }
    }
}

/// How gzip output is cut into members (RFC 1952 §2.2: a gzip file is a series of members).
public enum GzipMembers: String, Sendable, CaseIterable {
    /// One member per part (per stream on standard output), its chunks deflated in parallel and
    /// joined as pigz does: what every reader reads whole, including the ones that stop after
    /// the first member.
    case single
    /// One member per chunk: each chunk a complete member, so no block walk at levels 4...9
    /// (5–10% faster there; the same speed at 1...3).
    case perChunk = "per-chunk"
}
