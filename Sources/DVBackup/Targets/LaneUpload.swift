/// The two capabilities an upload may add to the common seam (`TargetUpload`), each asked
/// for by Transfer with `as?`:
/// - `LaneUpload`: one large copy written through several connections at once;
/// - `DiagnosingUpload`: a failure to write a copy explained by what the target can tell.
///
/// They are separate because they are: a refused write is diagnosed on every path (one
/// connection or lanes, while sending or while settling), and a target may offer either
/// without the other.

/// An upload that can write one large copy through several connections ("lanes") at once,
/// the lanes driven from threads of their own. The upload itself stays with the sending
/// thread; what the lane threads call into is `UploadLanes`: lanes (each handed over to one
/// thread, which then owns it) and a `LaneProgress` that is `Sendable` for real.
public protocol LaneUpload: TargetUpload {
    /// Opens up to `count` extra writers for the copy, each on its own connection. The copy
    /// is then written in chunks of `blockSize` bytes at their offsets through these lanes
    /// instead of through `write`. `expectedBytes`: the size of the whole copy. No lanes
    /// (none could be opened): the copy goes through `write`.
    func openLanes(_ count: Int, algorithm: ChecksumAlgorithm, blockSize: Int, expectedBytes: Int64) -> UploadLanes
    /// Every block is written through the lanes and the lanes are closed; returns once the
    /// target has what it needs. Called on the sending thread.
    func lanesFinished()
}

/// What `LaneUpload.openLanes` hands to the lane threads.
public struct UploadLanes {
    /// One writer per connection; each is used by one lane thread only.
    public let writers: [any UploadLane]
    /// Told, from any lane thread, how many leading blocks are completely written.
    public let progress: (any LaneProgress)?

    public init(writers: [any UploadLane], progress: (any LaneProgress)?) {
        self.writers = writers
        self.progress = progress
    }
}

/// One extra writer of a large copy (see `LaneUpload.openLanes`). Used by one thread.
public protocol UploadLane: AnyObject {
    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure)
    func close() throws(FileFailure)
}

/// Hears how far a copy written through lanes is complete. Called from the lane threads,
/// with strictly increasing counts (`WrittenPrefix` sees to that); the last call covers the
/// whole copy.
public protocol LaneProgress: Sendable {
    /// The first `blocks` blocks of the copy are completely written.
    func writtenPrefix(blocks: UInt64)
}

/// An upload that can say more about why a copy could not be written (a full file system),
/// asked before the partial copy is removed.
public protocol DiagnosingUpload: TargetUpload {
    /// `failure`, with what the target can tell of its cause added.
    func diagnose(_ failure: FileFailure) -> FileFailure
}

extension TargetUpload {
    /// `failure` as `DiagnosingUpload` explains it, where the upload can.
    func diagnosed(_ failure: FileFailure) -> FileFailure {
        (self as? any DiagnosingUpload)?.diagnose(failure) ?? failure
    }
}
