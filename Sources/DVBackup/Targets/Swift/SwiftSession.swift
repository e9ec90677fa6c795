import Foundation
import Logging

/// One worker's use of the cluster: control requests on the worker's thread, streamed PUTs on
/// two lanes (threads with their own connections), so that a segment is sent while the one
/// before it is being stored and acknowledged.
final class SwiftSession: TargetSession {
    let target: SwiftTarget
    let connection: SwiftConnection
    private var lanes: [SwiftLane] = []
    /// Uploads in a row that failed with a lost connection: the next waits first.
    private var lostInARow = 0

    static let laneCount = 2

    init(target: SwiftTarget) throws(SwiftRequestError) {
        self.target = target
        connection = try SwiftConnection(access: target.access)
    }

    deinit {
        for lane in lanes { lane.close() }
    }

    /// Chunks of 1 MiB fill the lanes' pipe buffers one each.
    var preferredChunkSize: Int { 1 << 20 }

    func lane(_ index: Int) -> SwiftLane {
        while lanes.count < Self.laneCount {
            lanes.append(SwiftLane(access: target.access, name: "dvbackup-swift-lane-\(lanes.count + 1)"))
        }
        return lanes[index % lanes.count]
    }

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        try beginUpload(UploadDescription(relativePath: relativePath, datafileId: 0, expectedSize: nil, catalogChecksum: nil))
    }

    func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        if let problem = PathSafety.problem(in: description.relativePath, what: "object name") {
            throw FileFailure(.failWrite, problem)
        }
        let retry = target.access.retry
        if lostInARow > 0, let wait = retry.delay(before: min(lostInARow, retry.delays.count) + 1), wait > 0 {
            target.logger.info("Swift: waiting \(formatDecimal(wait, places: 1)) s after a lost connection before the next upload")
            // A stop ends the wait: this file is in flight and goes on; its requests give up
            // at their first wait.
            _ = retry.wait(wait, stopped: target.access.stopped)
        }
        return try SwiftUpload.begin(session: self, description: description)
    }

    /// Counts lost connections in a row (reset by any other outcome).
    func note(_ failure: FileFailure?) {
        lostInARow = failure?.connectionLost == true ? lostInARow + 1 : 0
    }
}
