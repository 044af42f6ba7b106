import MaskPipeline
import MaskCore
import MaskPostgres

/// The bytes of a PostgreSQL `COPY (…) TO STDOUT WITH (FORMAT csv, HEADER)`, fed straight into the
/// CSV engine as they arrive. `@unchecked Sendable`: like every `ByteSource`, read by the job's
/// reader thread alone.
public final class CopySource: ByteSource {
    public let name: String
    private let stream: CopyOutStream

    public init(name: String, stream: CopyOutStream) {
        self.name = name
        self.stream = stream
    }

    public var compressedBytesRead: Int? { nil }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try stream.read(into: buffer)
        } catch let error as PostgresError {
            throw IOFailure("\(DisplayName.of(name)): \(error)")
        }
    }
}
