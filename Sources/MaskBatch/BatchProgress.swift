import Foundation

/// The progress line on stderr (only when it is a terminal): files done of all, bytes, MB/s,
/// ETA; and the per-file lines printed above it.
final class BatchProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let totalFiles: Int
    private let totalBytes: Int
    private let enabled: Bool
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private var done = 0
    private var skipped = 0
    private var failed = 0
    private var completedBytes = 0
    private var inFlight: [Int: Int] = [:]

    init(files: Int, bytes: Int, enabled: Bool) {
        totalFiles = files
        totalBytes = bytes
        self.enabled = enabled
    }

    /// Bytes of input `file` read so far (called from the engine's reader thread).
    func add(file: Int, bytes: Int) {
        guard enabled else { return }
        lock.lock()
        inFlight[file, default: 0] += bytes
        drawIfDue()
        lock.unlock()
    }

    func fileDone(file: Int, status: BatchFileResult.Status, bytes: Int) {
        lock.lock()
        inFlight[file] = nil
        completedBytes += bytes
        done += 1
        if status == .skipped { skipped += 1 }
        if status == .failed { failed += 1 }
        if enabled { drawIfDue(force: true) }
        lock.unlock()
    }

    /// A line for the log; above the progress line when there is one.
    func print(_ line: String, always: Bool, log: (String) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if enabled && drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        log(line)
        if enabled { drawIfDue(force: true) }
    }

    func finish() {
        lock.lock()
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
        lock.unlock()
    }

    /// Caller holds the lock.
    private func drawIfDue(force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.25 else { return }
        lastDraw = now
        let bytes = completedBytes + inFlight.values.reduce(0, +)
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / seconds
        var line = String(format: "\r\u{1B}[Kmask batch: %d/%d files", done, totalFiles)
        if skipped > 0 || failed > 0 { line += " (\(skipped) skipped, \(failed) failed)" }
        line += String(format: ", %.1f/%.1f MB, %.1f MB/s", Double(bytes) / 1e6, Double(totalBytes) / 1e6, rate / 1e6)
        if rate > 0 && bytes < totalBytes {
            let eta = Int(Double(totalBytes - bytes) / rate)
            line += String(format: ", ETA %d:%02d", eta / 60, eta % 60)
        }
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }
}
