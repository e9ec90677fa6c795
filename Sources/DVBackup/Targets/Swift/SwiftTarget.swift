import Foundation
import Logging
import Synchronization

/// A container in an OpenStack Swift cluster (StorageType `swift`), over libcurl.
///
/// Each copy is the object `<authority>/<identifier>/<storage name>` in `SwiftContainer`,
/// with the catalog checksum and the datafile id as metadata
/// (`X-Object-Meta-Dv-Checksum-Type`, `-Value`, `X-Object-Meta-Dv-Datafile-Id`), so that an
/// audit can prove it with a HEAD. How a copy is written and proven (see `SwiftUpload`):
///
/// - up to SwiftSegmentSize, one PUT. When the catalog checksum is an MD5 it is sent ahead
///   as the ETag: Swift stores the object only if the bytes it received have that MD5 (422
///   otherwise), so a bad copy never replaces a good one. Otherwise a small file is held in
///   memory and sent with its MD5 as the ETag, and a larger one is sent to a temporary
///   object whose returned ETag must equal the MD5 computed while sending, then copied into
///   place by the cluster (which checks the copy's ETag again);
/// - above it, a Static Large Object: segments go to `<container>_segments`, each checked
///   against the MD5 computed while sending it; the manifest is written last, listing every
///   segment's ETag and size (the cluster checks them) and carrying the expected SLO ETag
///   (422 on a mismatch).
///
/// Segments of a failed upload are deleted; what a crash left behind under the object's
/// prefix in `<container>_segments` is deleted the next time the file is copied.
public final class SwiftTarget: BackupTarget, Sendable {
    public let settings: SwiftSettings
    let layout: SwiftLayout
    let access: SwiftAccess
    private let clusterInfo = Mutex<SwiftClusterInfo>(SwiftClusterInfo())

    /// A file whose MD5 is not known in advance is held in memory up to this size, then sent
    /// in one PUT with its MD5 as the ETag.
    static let inMemoryLimit = 4 << 20

    public init(settings: SwiftSettings, logger: Logger) {
        self.settings = settings
        layout = SwiftLayout(container: settings.container)
        access = SwiftAccess(credentials: SwiftCredentials(settings), retry: settings.retry, logger: logger)
    }

    public var method: String { "swift" }

    public var displayName: String {
        "Swift container \(settings.container) at \(HTTPRequest.redacted(settings.endpoint ?? settings.authURL))"
    }

    var logger: Logger { access.logger }
    var cluster: SwiftClusterInfo { clusterInfo.withLock { $0 } }

    /// Segments are at most what the cluster takes in one object.
    var segmentSize: Int64 { min(settings.segmentSize, cluster.maxFileSize) }

    public func checkUsable() throws(TargetUnavailable) {
        let connection: SwiftConnection
        let token: SwiftToken
        do throws(SwiftRequestError) {
            connection = try SwiftConnection(access: access)
            token = try connection.token()
        } catch {
            throw TargetUnavailable(access.auth.redact(error.message))
        }
        let storage = HTTPRequest.redacted(token.storageURL)
        let credentials = access.auth.credentials
        logger.info("Swift: authenticated as \(credentials.user) at \(credentials.displayAuthURL) (auth v\(credentials.version.rawValue))\(token.expires.map { ", token expires \($0)" } ?? ""); account \(storage)\(credentials.endpoint != nil ? " (SwiftEndPoint)" : "")")
        func request(_ f: () throws(SwiftRequestError) -> HTTPResponse) throws(TargetUnavailable) -> HTTPResponse {
            do throws(SwiftRequestError) { return try f() } catch {
                throw TargetUnavailable("cannot use the Swift account at \(storage): \(access.auth.redact(error.message))")
            }
        }
        let account = try request { () throws(SwiftRequestError) in try connection.send(.head, "") }
        guard account.isSuccess else {
            if account.status == 404 {
                throw TargetUnavailable("the Swift account at \(storage) does not exist (404 Not Found)\(credentials.endpoint != nil ? ": check SwiftEndPoint, which must be the account's storage URL (…/v1/AUTH_<project>)" : "")")
            }
            throw TargetUnavailable("cannot use the Swift account at \(storage): \(connection.explain(account, "HEAD \(storage)"))")
        }
        learnClusterInfo(storageURL: token.storageURL, client: connection.client)
        for container in [layout.container, layout.segmentContainer] {
            let path = layout.containerPath(container)
            let head = try request { () throws(SwiftRequestError) in try connection.send(.head, path) }
            if head.isSuccess { continue }
            guard head.status == 404 else {
                throw TargetUnavailable("cannot use container \(container) in \(storage): \(connection.explain(head, "HEAD \(storage + path)"))")
            }
            let put = try request { () throws(SwiftRequestError) in try connection.send(.put, path, body: []) }
            guard put.isSuccess else {
                throw TargetUnavailable("cannot create container \(container) in \(storage): \(connection.explain(put, "PUT \(storage + path)"))")
            }
            logger.info("Swift: created container \(container) in \(storage)")
        }
        let info = cluster
        if !info.hasSLO {
            logger.warning("Swift: the cluster at \(storage) does not offer Static Large Objects (no slo in /info): files above \(SizeParser.format(segmentSize)) will fail")
        }
        if settings.segmentSize > info.maxFileSize {
            logger.warning("Swift: SwiftSegmentSize \(SizeParser.format(settings.segmentSize)) is above the cluster's max_file_size; segments of \(SizeParser.format(info.maxFileSize)) are used")
        }
        logger.info("Swift: copies go to container \(layout.container), the segments of files above \(SizeParser.format(segmentSize)) to \(layout.segmentContainer)")
    }

    /// Reads the cluster's limits from `/info` (no token needed); Swift's defaults otherwise.
    private func learnClusterInfo(storageURL: String, client: HTTPClient) {
        guard let url = SwiftClusterInfo.infoURL(storageURL: storageURL) else { return }
        if let r = try? client.perform(HTTPRequest(url: url)), r.isSuccess, let info = SwiftClusterInfo.parse(r.body) {
            clusterInfo.withLock { $0 = info }
            logger.debug("Swift: /info: max_file_size \(info.maxFileSize), max_manifest_segments \(info.maxManifestSegments), slo \(info.hasSLO)")
        } else {
            logger.debug("Swift: no /info at \(url); assuming Swift's default limits")
        }
    }

    public func makeSession() throws(TargetUnavailable) -> any TargetSession {
        do throws(SwiftRequestError) {
            return try SwiftSession(target: self)
        } catch {
            throw TargetUnavailable(error.message)
        }
    }

    /// The URL of an object, as the status database records it (no token).
    func objectURL(_ object: String) -> String {
        HTTPRequest.redacted(access.auth.storageURL ?? settings.endpoint ?? "swift:") + layout.objectPath(object)
    }
}
