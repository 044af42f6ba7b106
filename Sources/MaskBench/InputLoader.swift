import Foundation
import MaskCompression

/// Reads a whole bench input into memory, gunzipping it when it starts with the gzip magic.
public enum InputLoader {
    public static func load(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BenchError(description: "cannot read \(path)")
        }
        let bytes = Array(data)
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        let decoder = try GzipStreamDecoder()
        var output: [UInt8] = []
        try bytes.withUnsafeBytes { try decoder.decompress($0, appendingTo: &output) }
        try decoder.finish()
        return output
    }
}
