/// Proves primaries (the file and S3 stores Dataverse reads) against the catalog, as the
/// backup path reads them: streamed once, hashed, the size and the digest compared. A
/// damaged primary is `.corrupt`, a missing one `.missing`; a store that cannot be used
/// (``StoreReachability``) is no finding: it throws, and the audit stops.
struct PrimaryProver {
    func prove(_ ref: AuditReference) throws(TargetUnavailable) -> CopyFinding {
        let digest = Digest(ref.expected.algorithm)
        var total: Int64 = 0
        do throws(FileFailure) {
            try ref.store.stream(ref.object, chunkSize: FileStore.chunkSize) { (chunk) throws(FileFailure) in
                digest.update(chunk)
                total += Int64(chunk.count)
            }
        } catch {
            // Not read: the store itself may be down, which says nothing of this file.
            if let down = StoreReachability.problem(ref.store) {
                throw TargetUnavailable("\(down) (reading \(ref.object.address): \(error.reason))")
            }
            if Self.meansMissing(error.reason) { return .missing(error.reason) }
            return .unreadable(error.reason)
        }
        let actual = digest.finalizeHex()
        if let want = ref.file.expectedSourceSize, want != total {
            return .corrupt("the primary \(ref.object.address) has \(total) bytes, the catalog records \(want)")
        }
        guard actual == ref.expected.hex else {
            return .corrupt("the primary \(ref.object.address) has \(ref.expected.algorithm.rawValue) \(actual), the reference is \(ref.expected.hex)")
        }
        return .verified(how: "read from store \(ref.object.storeId), \(ref.expected.algorithm.rawValue) matches")
    }

    /// The stores' words for an object that is not there (a file store's ENOENT, S3's 404).
    static func meansMissing(_ reason: String) -> Bool {
        reason.contains("No such file or directory") || reason.contains("NoSuchKey") || reason.contains("404")
    }
}
