/*!
 MaskPipeline: the I/O and concurrency around the pure chunk masker.

 source → chunker (reader thread) → N workers (mask + deflate) → ordered writer (caller's thread)

 Memory is bounded by `window` chunks in flight (read but not yet written), whatever the input
 size: the reader blocks when the window is full. Output order is input order, so the bytes
 written do not depend on which worker finished first.
 */
import Foundation

/// Runs `transform` over a stream on `threads` workers and hands results to `consume` in input
/// order, with at most `window` items between production and consumption.
///
/// Dedicated threads rather than Swift concurrency tasks: the producer blocks in `read(2)` and
/// workers run CPU-bound loops for milliseconds at a time; neither should occupy the
/// cooperative pool that the rest of the process may use.
enum OrderedParallelMap {
    static func run<Input: Sendable, Output: Sendable, State>(
        threads: Int,
        window: Int,
        produce: @escaping @Sendable () throws -> Input?,
        makeState: @escaping @Sendable () -> State,
        transform: @escaping @Sendable (Input, State) -> Output,
        consume: (Output) throws -> Void
    ) throws {
        let shared = Shared<Input, Output>(window: max(window, 1))
        var started: [Thread] = []
        let producer = Thread {
            shared.runProducer(produce)
        }
        producer.stackSize = 1 << 20
        started.append(producer)
        for _ in 0..<max(threads, 1) {
            let worker = Thread {
                let state = makeState()
                shared.runWorker { transform($0, state) }
            }
            worker.stackSize = 8 << 20
            started.append(worker)
        }
        for thread in started { thread.start() }
        defer {
            shared.cancel()
            shared.waitForThreads(count: started.count)
        }
        var sequence = 0
        while let next = try shared.take(sequence) {
            do {
                try consume(next)
            } catch {
                shared.cancel()
                throw error
            }
            sequence += 1
        }
    }

    /// The state shared by the producer, the workers and the consumer, behind one condition.
    /// `@unchecked Sendable`: every `var` is read and written only with `condition` locked (a
    /// `Mutex` cannot wait, and the producer and the consumer must).
    final class Shared<Input, Output>: @unchecked Sendable {
        let condition = NSCondition()
        let window: Int
        var pending: [(Int, Input)] = []
        var results: [Int: Output] = [:]
        var produced = 0
        var consumed = 0
        var producerDone = false
        var producerError: Error?
        var cancelled = false
        var finishedThreads = 0

        init(window: Int) { self.window = window }

        func runProducer(_ produce: () throws -> Input?) {
            defer { threadFinished() }
            while true {
                condition.lock()
                while produced - consumed >= window && !cancelled { condition.wait() }
                if cancelled {
                    condition.unlock()
                    return
                }
                condition.unlock()
                let item: Input?
                do {
                    item = try produce()
                } catch {
                    condition.lock()
                    producerError = error
                    producerDone = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                condition.lock()
                guard let item else {
                    producerDone = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                pending.append((produced, item))
                produced += 1
                condition.broadcast()
                condition.unlock()
            }
        }

        func runWorker(_ transform: (Input) -> Output) {
            defer { threadFinished() }
            while true {
                condition.lock()
                while pending.isEmpty && !producerDone && !cancelled { condition.wait() }
                if cancelled || pending.isEmpty {
                    condition.unlock()
                    return
                }
                let (sequence, item) = pending.removeFirst()
                condition.unlock()
                let output = transform(item)
                condition.lock()
                results[sequence] = output
                condition.broadcast()
                condition.unlock()
            }
        }

        /// The output for `sequence`, `nil` at the end of the stream.
        func take(_ sequence: Int) throws -> Output? {
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let output = results.removeValue(forKey: sequence) {
                    consumed += 1
                    condition.broadcast()
                    return output
                }
                if producerDone && sequence >= produced {
                    if let producerError { throw producerError }
                    return nil
                }
                condition.wait()
            }
        }

        func cancel() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            condition.unlock()
        }

        func threadFinished() {
            condition.lock()
            finishedThreads += 1
            condition.broadcast()
            condition.unlock()
        }

        func waitForThreads(count: Int) {
            condition.lock()
            while finishedThreads < count { condition.wait() }
            condition.unlock()
        }
    }
}
