import ArgumentParser
import Foundation
import MaskBench
import MaskCore
import MaskEngine
import MaskPipeline
import MaskRules

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes, decided in one place: 0 done, 1 data error, 2 usage or rules error, 3 I/O error;
/// `mask verify` only: 4 could not verify (malformed input).
enum ExitStatus: Int32 {
    case success = 0
    case dataError = 1
    case usageError = 2
    case ioError = 3
    case cannotVerify = 4
}

func printError(_ message: String) {
    FileHandle.standardError.write("mask: error: \(message)\n".data(using: .utf8)!)
}

func printNote(_ message: String) {
    FileHandle.standardError.write("mask: \(message)\n".data(using: .utf8)!)
}

@main
struct Mask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mask",
        abstract: "Mask personal data in CSV and JSONL extracts between extract and load.",
        discussion: """
            Pipe mode is the default command:
              extract | mask --rules rules/pii.yaml --format csv > masked.csv.gz
            Exit codes: 0 done, 1 data error (malformed input), 2 usage or rules error, 3 I/O error.
            """,
        version: MaskVersion.current,
        subcommands: [Pipe.self, Rules.self, Bench.self, Extract.self, Ledger.self, Batch.self, Verify.self],
        defaultSubcommand: Pipe.self)

    /// ArgumentParser's own entry point, except that a command line it refuses (unknown or
    /// missing flag, invalid value) exits with the documented 2 rather than its default 64,
    /// so orchestrators need one "do not retry" code.
    static func main() {
        // Process-wide setup, once for every command: a closed pipe is an EPIPE write error
        // (`mask rules test … | head` ends quietly with 0, not killed by SIGPIPE), and freed
        // chunk buffers stay in the heap.
        signal(SIGPIPE, SIG_IGN)
        keepChunkBuffersInHeap()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let suggestion = misspelledCommand(arguments) {
            FileHandle.standardError.write(Data("mask: error: unknown command '\(arguments[0])'; did you mean '\(suggestion)'? (mask --help lists the commands)\n".utf8))
            Foundation.exit(ExitStatus.usageError.rawValue)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.usageError.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// A first argument that is not a flag, a command or a file, but close to a command name
/// (`mask bacth`): the run command would otherwise report it as an unexpected argument.
func misspelledCommand(_ arguments: [String]) -> String? {
    guard let first = arguments.first, !first.hasPrefix("-"), !FileManager.default.fileExists(atPath: first) else { return nil }
    let commands = Mask.configuration.subcommands.map { $0.configuration.commandName ?? "\($0)".lowercased() }
    guard !commands.contains(first) else { return nil }
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() { current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))) }
            previous = current
        }
        return previous[b.count]
    }
    let scored = commands.map { ($0, distance(Array(first), Array($0))) }.min { $0.1 < $1.1 }
    guard let (name, score) = scored, score <= 2 else { return nil }
    return name
}

/// Keeps freed chunk buffers in the heap instead of handing them back to the kernel.
///
/// Every chunk allocates a few buffers of 2 MiB and more (input, masked output, gzip member) and
/// frees them once written. Above glibc's default mmap and trim thresholds each one was a fresh
/// mapping whose pages were faulted in and zeroed again: ~0.1 s of system time per 400 MB of
/// JSONL. With the thresholds raised the next chunk reuses the memory. The trim threshold bounds
/// what free heap may stay resident: at 256 MiB a run whose buffers fragmented under a slow
/// consumer kept up to 256 MiB of freed memory; 64 MiB still holds every chunk buffer in flight
/// (a few of 2 MiB and more per thread) and keeps the peak under 100 MiB. (The ~290 MiB peaks
/// that the memory test once reported were the test's own memory: see `Runner.pipe`.)
/// `mallopt` is looked up at run time: Swift's Glibc module does not include `<malloc.h>`.
func keepChunkBuffersInHeap() {
    #if canImport(Glibc)
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    _ = mallopt(-3, 32 << 20)  // M_MMAP_THRESHOLD: no separate mapping below 32 MiB
    _ = mallopt(-1, 64 << 20)  // M_TRIM_THRESHOLD: keep up to 64 MiB of free heap
    #endif
}

/// Runs a command body and turns its errors into the documented exit codes: the one place where
/// a failure's category becomes a number.
func runMapped(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch is BrokenPipe {
        throw ExitCode.success
    } catch let error as ExitCode {
        throw error
    } catch let error as CategorizedFailure {
        printError(error.message)
        throw ExitCode(ExitStatus(error.category).rawValue)
    } catch {
        printError("\(error)")
        throw ExitCode(ExitStatus.ioError.rawValue)
    }
}

extension ExitStatus {
    init(_ category: FailureCategory) {
        switch category {
        case .data, .verification: self = .dataError
        case .usage: self = .usageError
        case .io, .store: self = .ioError
        }
    }
}
