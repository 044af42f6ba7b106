import Foundation

/// The bench report for people (`render`) and the regression gate against a baseline report.
public enum BenchTable {
    public static func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        lines.append("input: \(report.input) (\(report.format), \(report.ruleSets.first.map { String(format: "%.1f MB", Double($0.inputBytes) / 1e6) } ?? "-"), \(report.inputMode))")
        for set in report.ruleSets {
            lines.append("")
            lines.append("rules: \(set.rules) (\(set.fingerprint)), \(set.threads) thread(s), \(set.iterations) passes\(set.deflateLevel.map { ", deflate level \($0)" } ?? ", masking only")")
            lines.append(String(format: "  throughput  %8.1f MB/s (min %.1f, max %.1f)   %10.0f records/s (min %.0f, max %.0f)",
                                set.megabytesPerSecond.median, set.megabytesPerSecond.min, set.megabytesPerSecond.max,
                                set.recordsPerSecond.median, set.recordsPerSecond.min, set.recordsPerSecond.max))
            lines.append("  detector          matches  declined  prefilter-pass  time-share  ns/byte  ns/byte-no-prefilter")
            for detector in set.detectors {
                lines.append(pad(detector.id, 16) + String(format: " %8d  %8d  %13.1f%%  %9.1f%%  %7.3f  %7.3f",
                                    detector.matches, detector.validatorRejections,
                                    detector.prefilterPassRate * 100, detector.timeShare * 100,
                                    detector.nanosecondsPerByte, detector.nanosecondsPerByteWithoutPrefilter))
            }
            lines.append("  field             policy        changed")
            for field in set.fields {
                lines.append(pad(field.name, 16) + pad(field.policy, 12) + String(format: " %8d", field.changed))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The micro-benchmark results, one kernel per line.
    public static func render(_ results: [MicroBench.Result]) -> String {
        results.map { pad($0.kernel, 40) + String(format: "%12.1f %@", $0.median, $0.unit as NSString) }.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        "  " + text + String(repeating: " ", count: max(0, width - text.count))
    }

    /// Rule sets (matched by rules path) whose median MB/s fell by more than `allowed`.
    public static func regressions(_ report: BenchReport, against baseline: BenchReport, allowed: Double) -> [String] {
        var found: [String] = []
        for set in report.ruleSets {
            guard let earlier = baseline.ruleSets.first(where: { $0.rules == set.rules }) else { continue }
            let ratio = set.megabytesPerSecond.median / earlier.megabytesPerSecond.median
            if ratio < 1 - allowed {
                found.append(String(format: "%@ got slower: %.1f MB/s against %.1f MB/s in the baseline (%.0f%%, allowed %.0f%%)",
                                    set.rules as NSString, set.megabytesPerSecond.median, earlier.megabytesPerSecond.median,
                                    (1 - ratio) * 100, allowed * 100))
            }
        }
        return found
    }
}
