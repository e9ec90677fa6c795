import Foundation

/// A bounded first-in-first-out queue between threads: `put` waits while it is full, `take`
/// waits while it is empty and returns `nil` once it is closed and drained.
///
/// `@unchecked Sendable` because every access to `items`, `closed` and the waiting counts
/// happens with `condition` locked.
public final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    /// Threads waiting in `put` (the queue full) and in `take` (the queue empty), and threads
    /// watching those counts in `waitUntilBlocked`: what tests synchronise on.
    private var blockedPutters = 0
    private var blockedTakers = 0
    private var watchers = 0
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds an element; returns `false` (dropping it) when the queue was closed.
    @discardableResult
    public func put(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if items.count - head >= capacity, !closed {
            blockedPutters += 1
            if watchers > 0 { condition.broadcast() }
            while items.count - head >= capacity, !closed { condition.wait() }
            blockedPutters -= 1
        }
        if closed { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    public func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        if head == items.count, !closed {
            blockedTakers += 1
            if watchers > 0 { condition.broadcast() }
            while head == items.count, !closed { condition.wait() }
            blockedTakers -= 1
        }
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if head > 1024, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return e
    }

    /// No more elements will be put; takers drain what is left.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Test hook: waits until at least `putters` threads are blocked in `put` and `takers` in
    /// `take` (counted while they wait, under the queue's lock), or until `timeout` seconds
    /// have passed. Returns whether they were.
    func waitUntilBlocked(putters: Int = 0, takers: Int = 0, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        watchers += 1
        defer { watchers -= 1 }
        while blockedPutters < putters || blockedTakers < takers {
            if !condition.wait(until: deadline) { return blockedPutters >= putters && blockedTakers >= takers }
        }
        return true
    }
}

/// Runs `body` on a new thread (not Swift's cooperative pool: blocking C calls belong on
/// their own threads); `join` waits for it.
public final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    public func join() { done.wait() }
}
