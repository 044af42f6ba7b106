import Foundation
import Synchronization

/// The progress line on stderr (only when it is a terminal): files done of all, bytes, MB/s,
/// ETA; and the per-file lines printed above it. Shared by the file threads and the engine's
/// reader threads; its counts live in one `Mutex`, which also orders the writes to stderr.
final class BatchProgress: Sendable {
    private struct Counts {
        var lastDraw = Date.distantPast
        var drawn = false
        var done = 0
        var skipped = 0
        var failed = 0
        var completedBytes = 0
        var inFlight: [Int: Int] = [:]
    }

    private let counts = Mutex(Counts())
    private let totalFiles: Int
    private let totalBytes: Int
    private let enabled: Bool
    private let started = Date()

    init(files: Int, bytes: Int, enabled: Bool) {
        totalFiles = files
        totalBytes = bytes
        self.enabled = enabled
    }

    /// Bytes of input `file` read so far (called from the engine's reader thread).
    func add(file: Int, bytes: Int) {
        guard enabled else { return }
        counts.withLock { counts in
            counts.inFlight[file, default: 0] += bytes
            drawIfDue(&counts)
        }
    }

    func fileDone(file: Int, status: BatchFileResult.Status, bytes: Int) {
        counts.withLock { counts in
            counts.inFlight[file] = nil
            counts.completedBytes += bytes
            counts.done += 1
            if status == .skipped { counts.skipped += 1 }
            if status == .failed { counts.failed += 1 }
            if enabled { drawIfDue(&counts, force: true) }
        }
    }

    /// A line for the log; above the progress line when there is one.
    func print(_ line: String, always: Bool, log: (String) -> Void) {
        counts.withLock { counts in
            if enabled && counts.drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            log(line)
            if enabled { drawIfDue(&counts, force: true) }
        }
    }

    func finish() {
        counts.withLock { counts in
            if counts.drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            counts.drawn = false
        }
    }

    /// Called with the counts locked.
    private func drawIfDue(_ counts: inout Counts, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(counts.lastDraw) >= 0.25 else { return }
        counts.lastDraw = now
        let bytes = counts.completedBytes + counts.inFlight.values.reduce(0, +)
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / seconds
        var line = String(format: "\r\u{1B}[Kmask batch: %d/%d files", counts.done, totalFiles)
        if counts.skipped > 0 || counts.failed > 0 { line += " (\(counts.skipped) skipped, \(counts.failed) failed)" }
        line += String(format: ", %.1f/%.1f MB, %.1f MB/s", Double(bytes) / 1e6, Double(totalBytes) / 1e6, rate / 1e6)
        if rate > 0 && bytes < totalBytes {
            let eta = Int(Double(totalBytes - bytes) / rate)
            line += String(format: ", ETA %d:%02d", eta / 60, eta % 60)
        }
        FileHandle.standardError.write(Data(line.utf8))
        counts.drawn = true
    }
}
