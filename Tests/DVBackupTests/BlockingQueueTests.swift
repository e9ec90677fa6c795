import Foundation
import Testing
@testable import DVBackup

/// A thread-safe collector for what consumers took.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []

    func append(_ values: [Int]) {
        lock.lock()
        items += values
        lock.unlock()
    }

    var all: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

@Suite struct BlockingQueueTests {
    @Test(arguments: [1, 3, 64])
    func everyElementIsDeliveredExactlyOnce(capacity: Int) {
        let queue = BlockingQueue<Int>(capacity: capacity)
        let producers = 4, consumers = 3, perProducer = 2_500
        let collected = Collected()
        let consumerThreads = (0..<consumers).map { c in
            WorkerThread(name: "consumer-\(c)") {
                var mine: [Int] = []
                while let v = queue.take() { mine.append(v) }
                collected.append(mine)
            }
        }
        let producerThreads = (0..<producers).map { p in
            WorkerThread(name: "producer-\(p)") {
                for i in 0..<perProducer {
                    let ok = queue.put(p * perProducer + i)
                    precondition(ok, "put failed before close")
                }
            }
        }
        producerThreads.forEach { $0.join() }
        queue.close()
        consumerThreads.forEach { $0.join() }
        let all = collected.all
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == all.count, "an element was delivered twice")
        #expect(Set(all) == Set(0..<(producers * perProducer)))
    }

    @Test func fifoOrderWithOneProducerAndOneConsumer() {
        let queue = BlockingQueue<Int>(capacity: 7)
        let collected = Collected()
        let consumer = WorkerThread(name: "consumer") {
            var mine: [Int] = []
            while let v = queue.take() { mine.append(v) }
            collected.append(mine)
        }
        for i in 0..<5_000 { queue.put(i) }
        queue.close()
        consumer.join()
        #expect(collected.all == Array(0..<5_000))
    }

    @Test func takeDrainsThenReturnsNilAfterClose() {
        let queue = BlockingQueue<String>(capacity: 4)
        #expect(queue.put("a"))
        #expect(queue.put("b"))
        queue.close()
        #expect(queue.take() == "a")
        #expect(queue.take() == "b")
        #expect(queue.take() == nil)
        #expect(queue.take() == nil)
    }

    @Test func putReturnsFalseAfterClose() {
        let queue = BlockingQueue<Int>(capacity: 2)
        queue.close()
        #expect(queue.put(1) == false)
        #expect(queue.take() == nil)
    }

    @Test func closeWakesABlockedTaker() {
        let queue = BlockingQueue<Int>(capacity: 1)
        let result = Collected()
        let taker = WorkerThread(name: "taker") {
            let v = queue.take()
            result.append([v ?? -1])
        }
        #expect(queue.waitUntilBlocked(takers: 1), "take did not wait on the empty queue")
        #expect(result.all.isEmpty)
        queue.close()
        taker.join()
        #expect(result.all == [-1])
    }

    @Test func closeWakesABlockedPutter() {
        let queue = BlockingQueue<Int>(capacity: 1)
        #expect(queue.put(1))
        let result = Collected()
        let putter = WorkerThread(name: "putter") {
            // The queue is full: this waits until close, then drops the element.
            result.append([queue.put(2) ? 1 : 0])
        }
        #expect(queue.waitUntilBlocked(putters: 1), "put did not wait on the full queue")
        #expect(result.all.isEmpty)
        queue.close()
        putter.join()
        #expect(result.all == [0])
        #expect(queue.take() == 1)
        #expect(queue.take() == nil)
    }

    @Test func fullQueueBlocksUntilATake() {
        let queue = BlockingQueue<Int>(capacity: 2)
        queue.put(1)
        queue.put(2)
        let done = Collected()
        let putter = WorkerThread(name: "putter") {
            queue.put(3)
            done.append([3])
        }
        #expect(queue.waitUntilBlocked(putters: 1), "put did not wait while the queue was full")
        #expect(done.all.isEmpty, "put did not wait while the queue was full")
        #expect(queue.take() == 1)
        putter.join()
        #expect(done.all == [3])
        queue.close()
        #expect(queue.take() == 2)
        #expect(queue.take() == 3)
        #expect(queue.take() == nil)
    }
}
