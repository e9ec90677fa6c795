import Synchronization

/// Paths known to exist on the target, shared by all sessions of a run, so that each
/// directory is checked or created once per run rather than once per file.
final class DirectoryCache: Sendable {
    private let known = Mutex<Set<String>>([])
    func contains(_ path: String) -> Bool { known.withLock { $0.contains(path) } }
    func insert(_ path: String) { _ = known.withLock { $0.insert(path) } }
}
