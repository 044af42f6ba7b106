import MaskRules

/// Runs the examples embedded in a rules file (`mask rules test`).
public enum RuleExamples {
    public struct Failure: Sendable, CustomStringConvertible {
        public var detector: String
        public var line: Int
        public var message: String
        public var description: String { "detector \(detector) (line \(line)): \(message)" }
    }

    public struct Summary: Sendable {
        public var passed: Int
        public var failures: [Failure]
    }

    /// Checks every example of every detector, each detector on its own (as `scan` sees it).
    public static func run(_ rules: CompiledRules) -> Summary {
        let values = ValueMasker(rules: rules, hasher: nil)
        let scratch = MaskScratch()
        var statistics = MaskStatistics(detectors: rules.detectors.count, fields: 0)
        var passed = 0
        var failures: [Failure] = []
        func found(_ text: String, _ detector: Int) -> [String] {
            Array(text.utf8).withUnsafeBytes { bytes in
                values.detect(in: bytes, detectors: [detector], scratch: scratch, statistics: &statistics)
                return scratch.detections.map { String(decoding: bytes[$0.range], as: UTF8.self) }
            }
        }
        for (index, detector) in rules.detectors.enumerated() {
            for example in detector.examples.match {
                let matches = found(example, index)
                if matches == [example] { passed += 1 } else {
                    failures.append(Failure(detector: detector.id, line: detector.line, message: "expected to match all of \(quoted(example)), found \(list(matches))"))
                }
            }
            for example in detector.examples.noMatch {
                let matches = found(example, index)
                if matches.isEmpty { passed += 1 } else {
                    failures.append(Failure(detector: detector.id, line: detector.line, message: "expected no match in \(quoted(example)), found \(list(matches))"))
                }
            }
            for (text, expected) in detector.examples.finds {
                let matches = found(text, index)
                if matches == expected { passed += 1 } else {
                    failures.append(Failure(detector: detector.id, line: detector.line, message: "in \(quoted(text)) expected \(list(expected)), found \(list(matches))"))
                }
            }
        }
        return Summary(passed: passed, failures: failures)
    }

    static func list(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    static func quoted(_ text: String) -> String { "\"\(text)\"" }
}
