import Foundation
import MaskTestSupport
import Testing
import Yams

/// The scheduler examples in `examples/`, run by the tools their users run: the Airflow DAG by real
/// Airflow (`airflow dags test`, SQLite metadata, in the virtualenv `make test-deps` creates), the
/// Digdag workflow's own command lines by the real CLI. Both on a day of local files.
@Suite(.serialized) struct AirflowDAGTests {
    let directory = TemporaryDirectory()
    static let key = "scheduler-example-key-5d2e9a0b7c41"
    static let day = "2026-11-30"

    /// A day of inputs under in/DAY/ with planted emails and phones.
    func makeDay() {
        for index in 0..<5 {
            _ = directory.write("in/\(Self.day)/orders/part-\(index).csv", Array(Fixtures.syntheticCSV(rows: 50 + index * 40).utf8))
        }
        _ = directory.write("in/\(Self.day)/events.jsonl", Array(#"{"email":"planted.one@example.com","n":1}\#n"#.utf8))
    }

    /// The day is masked and finalized: _SUCCESS, every input's output, no planted value left.
    func expectMaskedDay(sourceLocation: SourceLocation = #_sourceLocation) {
        let out = "out/\(Self.day)"
        #expect(directory.exists("\(out)/_SUCCESS"), sourceLocation: sourceLocation)
        #expect(directory.exists("\(out)/_batch_manifest.json"), sourceLocation: sourceLocation)
        let events = String(decoding: Gzip.decompress(directory.read("\(out)/events.jsonl.gz"), in: directory).output, as: UTF8.self)
        #expect(!events.contains("planted.one@example.com") && events.contains("\"n\":1"), sourceLocation: sourceLocation)
        for index in 0..<5 {
            let text = String(decoding: Gzip.decompress(directory.read("\(out)/orders/part-\(index).csv.gz"), in: directory).output, as: UTF8.self)
            #expect(!text.contains("@example.com") && !text.contains("415 555 0123"), "part-\(index)", sourceLocation: sourceLocation)
        }
    }

    @Test func airflowRunsTheDAGEndToEnd() throws {
        let airflow = "\(MaskBinary.repositoryRoot)/.build/airflow-venv/bin/airflow"
        try #require(FileManager.default.isExecutableFile(atPath: airflow), "no Airflow at \(airflow): run make test-deps")
        makeDay()
        let home = directory.file("airflow-home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let environment = [
            "PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": "\(MaskBinary.repositoryRoot)/examples/airflow",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///\(home)/airflow.db",
            "AIRFLOW_VAR_MASK_INPUT_ROOT": directory.file("in"),
            "AIRFLOW_VAR_MASK_OUTPUT_ROOT": directory.file("out"),
            "AIRFLOW_VAR_MASK_HMAC_SECRET": Self.key,
            "MASK_BIN": MaskBinary.path, "MASK_RULES": MaskBinary.rules("pii.yaml"), "MASK_SHARDS": "3",
        ]
        let migrate = Runner.run(airflow, ["db", "migrate"], environment: environment, in: directory)
        try #require(migrate.status == 0, "\(migrate.stdoutText)\(migrate.stderr)")
        let run = Runner.run(airflow, ["dags", "test", "mask_orders_day", Self.day], environment: environment, in: directory)
        let log = run.stdoutText + run.stderr
        #expect(run.status == 0, "\(log.suffix(4000))")
        #expect(log.contains("state=success"), "\(log.suffix(4000))")
        // Three mapped shard tasks ran, then finalize.
        for index in 0..<3 { #expect(log.contains("task_id=shard map_index=\(index)"), "shard \(index) did not run") }
        #expect(log.contains("task_id=finalize"))
        #expect(!log.contains(Self.key), "the key reached Airflow's log")
        expectMaskedDay()
    }

    @Test func digdagWorkflowRunsItsOwnCommandLines() throws {
        let text = try String(contentsOfFile: "\(MaskBinary.repositoryRoot)/examples/digdag/mask_day.dig", encoding: .utf8)
        let workflow = try #require(try Yams.load(yaml: text) as? [String: Any])
        let settings = try #require((workflow["_export"] as? [String: Any])?["mask"] as? [String: Any])
        let shards = try #require(settings["shards"] as? Int)
        let loop = try #require(workflow["+shards"] as? [String: Any])
        #expect(loop["loop>"] as? String == "${mask.shards}")
        #expect(loop["_parallel"] as? Bool == true)
        let body = try #require(loop["_do"] as? [String: Any])
        let shardLine = try #require(body["sh>"] as? String)
        let finalizeStep = try #require(workflow["+finalize"] as? [String: Any])
        let finalizeLine = try #require(finalizeStep["sh>"] as? String)
        // Secrets only through the environment, from Digdag's secret store.
        for step in [body, finalizeStep] {
            let env = try #require(step["_env"] as? [String: String])
            #expect(env["MASK_HMAC_KEY"] == "${secret:mask.hmac_key}")
            #expect(env.values.allSatisfy { $0.hasPrefix("${secret:") })
        }
        #expect(shardLine.contains("--shard ${i}/${mask.shards}") && finalizeLine.contains("--finalize"))

        // The command lines themselves, with Digdag's variables filled in, on a local day.
        makeDay()
        func expand(_ line: String, index: Int? = nil) -> String {
            var line = line
            for (name, value) in [("mask.input", directory.file("in")), ("mask.output", directory.file("out")),
                                  ("mask.rules", MaskBinary.rules("pii.yaml")), ("mask.shards", "\(shards)"), ("session_date", Self.day)] {
                line = line.replacingOccurrences(of: "${\(name)}", with: value)
            }
            if let index { line = line.replacingOccurrences(of: "${i}", with: "\(index)") }
            #expect(!line.contains("${"), "unexpanded variable in \(line)")
            return line
        }
        let bin = (MaskBinary.path as NSString).deletingLastPathComponent
        let environment = ["PATH": "\(bin):/usr/bin:/bin", "MASK_HMAC_KEY": Self.key, "LANG": "C.UTF-8"]
        let early = Runner.run("/bin/sh", ["-c", expand(finalizeLine)], environment: environment, in: directory)
        #expect(early.status == 1, "finalize before the shards: \(early.stderr)")
        for index in 0..<shards {
            let result = Runner.run("/bin/sh", ["-c", expand(shardLine, index: index)], environment: environment, in: directory)
            #expect(result.status == 0, "shard \(index): \(result.stderr)")
        }
        let finalize = Runner.run("/bin/sh", ["-c", expand(finalizeLine)], environment: environment, in: directory)
        #expect(finalize.status == 0, "\(finalize.stderr)")
        expectMaskedDay()
    }
}
