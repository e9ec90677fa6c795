import Foundation

/// A thread with its own libcurl handle that runs the streamed PUTs given to it, one after
/// another, so that a session's uploads reuse its connections.
final class SwiftLane: Sendable {
    typealias Job = @Sendable (SwiftConnection?, String?) -> Void
    private let jobs = BlockingQueue<Job>(capacity: 1)

    init(access: SwiftAccess, name: String) {
        let jobs = self.jobs
        _ = WorkerThread(name: name) {
            var problem: String? = nil
            var connection: SwiftConnection? = nil
            do throws(SwiftRequestError) {
                connection = try SwiftConnection(access: access)
            } catch {
                problem = error.message
            }
            while let job = jobs.take() { job(connection, problem) }
        }
    }

    /// Queues `job`; waits while another is queued (not while one runs).
    func submit(_ job: @escaping Job) { jobs.put(job) }

    /// The thread ends once the queued jobs are done.
    func close() { jobs.close() }
}
