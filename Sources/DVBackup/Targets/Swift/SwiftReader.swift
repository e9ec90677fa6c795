import Foundation

extension SwiftTarget: ReadableTarget {
    /// A reader on a connection of its own; the container must exist.
    public func makeReader() throws(TargetUnavailable) -> any TargetReader {
        do throws(SwiftRequestError) {
            let connection = try SwiftConnection(access: access)
            let head = try connection.send(.head, layout.containerPath(layout.container))
            guard head.isSuccess else {
                throw SwiftRequestError(message: connection.explain(head, "HEAD container \(layout.container)"),
                                        connectionLost: false, authFailure: nil)
            }
            return SwiftReader(layout: layout, connection: connection)
        } catch {
            throw TargetUnavailable("cannot read \(displayName): \(access.auth.redact(error.message))")
        }
    }
}

/// Reads copies out of Swift with GETs streamed through libcurl's write callback (a Static
/// Large Object segment by segment: `SwiftReader+Segments.swift`), and lists the container and the segments
/// container, where segments no manifest references and staged `<object>/tmp/<attempt>`
/// copies are dvbackup's leftovers.
///
/// A leftover in the segments container is named `/<container>_segments/<name>` in its
/// `TargetEntry` (a copy's path never begins with `/`).
final class SwiftReader: TargetReader {
    let layout: SwiftLayout
    let connection: SwiftConnection
    /// Segment references of recently read manifests, by object (a few: a listing is sorted,
    /// so an object's segments come together).
    private var manifests: [String: Set<String>] = [:]

    init(layout: SwiftLayout, connection: SwiftConnection) {
        self.layout = layout
        self.connection = connection
    }

    func read(_ copy: CopyReference, into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) {
        if let problem = PathSafety.problem(in: copy.relativePath, what: "object name") { throw .unreadable(problem) }
        try readObject(layout.objectPath(copy.relativePath), what: "\(layout.container)/\(copy.relativePath)", sink)
    }

    /// GET `path`, its body streamed to `sink`. A refused token is renewed once; a 5xx, a
    /// 429/498 or a cut connection is tried again after the run's delays (`[Backup]` retry
    /// policy; a wait ends at once on SIGTERM). Once bytes were delivered, the next attempt
    /// resumes from the byte reached (`Range`), on condition that the object is still the one
    /// whose first bytes were delivered (`If-Match` its ETag): a copy replaced meanwhile is
    /// never stitched from two versions.
    func get(_ path: String, what: String, _ sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) {
        let access = connection.access
        let client = connection.client
        var renewed = false
        var attempt = 1
        var delivered: Int64 = 0
        /// The ETag and total length of the response that delivered the first bytes.
        var etag: String? = nil
        var total: Int64? = nil

        /// Waits before another attempt; false when none is allowed (spent, or stopped).
        func another(_ why: String) throws(ReadFailure) -> Bool {
            guard let wait = access.retry.delay(before: attempt + 1) else { return false }
            let resume = delivered > 0 ? ", resuming at byte \(delivered)" : ""
            access.logger.warning("Swift: GET \(what): \(why); trying again in \(formatDecimal(wait, places: 1)) s (attempt \(attempt + 1) of \(access.retry.attempts)\(resume))")
            guard access.retry.wait(wait, stopped: access.stopped) else {
                throw .unavailable("GET \(what): \(why); \(SwiftAccess.stoppedWhileWaiting)")
            }
            attempt += 1
            return true
        }
        let after = { attempt > 1 ? " (after \(attempt) attempts)" : "" }

        while true {
            let token: SwiftToken
            do { token = try connection.token() } catch { throw .unavailable(error.message) }
            var headers: [(name: String, value: String)] = [("X-Auth-Token", token.value)]
            let resuming = delivered > 0
            if resuming {
                headers.append(("Range", "bytes=\(delivered)-"))
                if let etag { headers.append(("If-Match", etag)) }
            }
            let request = HTTPRequest(url: token.storageURL + path, headers: headers)
            let outcome: Result<HTTPResponse, HTTPError> = withoutActuallyEscaping(sink) { sink in
                Result { () throws(HTTPError) -> HTTPResponse in
                    try client.perform(request, download: { bytes in
                        if resuming {
                            // Only the rest of the same object may follow what was delivered.
                            guard client.responseStatus == 206 else { throw NotResumed(status: client.responseStatus) }
                        } else if delivered == 0 {
                            etag = client.responseHeaders["ETag"]
                            total = client.responseHeaders["Content-Length"].flatMap { Int64($0) }
                        }
                        try sink(bytes)
                        delivered += Int64(bytes.count)
                    })
                }
            }
            let response: HTTPResponse
            switch outcome {
            case .success(let r):
                response = r
            case .failure(.aborted(let e)):
                if let failure = e as? ReadFailure { throw failure }
                if let e = e as? NotResumed {
                    throw .cut("GET \(what) stopped after \(delivered) bytes and cannot be resumed (answered \(e.status) to a range request); nothing was written")
                }
                throw .unreadable("GET \(what): \(e)")
            case .failure(let error):
                let text = access.auth.redact("\(error)")
                if error.isTransient, try another(text) { continue }
                if delivered > 0 { throw .cut("GET \(what) stopped after \(delivered) bytes: \(text)\(after())") }
                throw .unavailable("GET \(what): \(text)\(after())")
            }
            if response.status == 401, !renewed {
                renewed = true
                do { _ = try access.auth.renew(after: token, client: client) } catch {
                    throw .unavailable("GET \(what): 401, and renewing the token failed: \(error.message)")
                }
                continue
            }
            if SwiftConnection.isRetryable(response.status), try another(SwiftResponseText.statusLine(response.status)) { continue }
            if resuming, response.status == 412 {
                throw .cut("GET \(what) stopped after \(delivered) bytes, and the object changed before the rest could be read (412 to If-Match \(etag ?? "")); nothing was written")
            }
            if resuming, response.status == 416, let total, total == delivered { return }
            if response.status == 404 { throw .missing("no object \(what) (404 Not Found)") }
            guard response.isSuccess else { throw .unreadable(connection.explain(response, "GET \(what)") + after()) }
            let length = resuming ? total : response.headers["Content-Length"].flatMap({ Int64($0) })
            if let length, length != delivered {
                // curl ends a body shorter than its Content-Length with an error, handled above;
                // this is what is left: a length the server itself got wrong.
                throw .cut("GET \(what) ended after \(delivered) of \(length) bytes")
            }
            return
        }
    }

    /// A range request was answered with the whole object (or another status).
    private struct NotResumed: Error {
        let status: Int
    }

    // MARK: listing

    func list(_ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure) {
        try listContainer(layout.container) { (entry) throws(ReadFailure) in
            try visit(TargetEntry(relativePath: entry.name, size: entry.bytes, modified: entry.modified, kind: .copy))
        }
        try listContainer(layout.segmentContainer) { (entry) throws(ReadFailure) in
            guard let why = try leftoverReason(entry.name) else { return }
            try visit(TargetEntry(relativePath: layout.segmentReference(entry.name), size: entry.bytes,
                                  modified: entry.modified, kind: .leftover(why: why)))
        }
    }

    /// Why a name in the segments container is a leftover; `nil` for a segment a manifest
    /// references, or a name that is not dvbackup's.
    private func leftoverReason(_ name: String) throws(ReadFailure) -> String? {
        if let r = name.range(of: "/tmp/", options: .backwards), !name[r.upperBound...].contains("/") {
            return "staged temporary copy of \(name[..<r.lowerBound]) from an interrupted upload"
        }
        guard let r = name.range(of: "/slo/", options: .backwards) else { return nil }
        let object = String(name[..<r.lowerBound])
        let referenced = try segmentsReferenced(by: object)
        return referenced.contains(layout.segmentReference(name)) ? nil : "segment no manifest references"
    }

    /// The segment references of `object`'s manifest (none when it is missing or not a
    /// Static Large Object).
    private func segmentsReferenced(by object: String) throws(ReadFailure) -> Set<String> {
        if let known = manifests[object] { return known }
        if manifests.count >= 16 { manifests.removeAll() }
        let path = layout.objectPath(object)
        let head: HTTPResponse
        do { head = try connection.send(.head, path) } catch { throw .unavailable(error.message) }
        var references: Set<String> = []
        if head.isSuccess, head.headers["X-Static-Large-Object"]?.lowercased() == "true" {
            var body: [UInt8] = []
            try get(path + "?multipart-manifest=get", what: "the manifest of \(object)") { bytes in body += bytes }
            guard let paths = SLOManifest.storedSegmentPaths(body) else {
                throw .unreadable("the manifest of \(object) cannot be read")
            }
            references = Set(paths)
        } else if !head.isSuccess, head.status != 404 {
            throw .unreadable(connection.explain(head, "HEAD \(object)"))
        }
        manifests[object] = references
        return references
    }

    struct ListedObject {
        let name: String
        let bytes: Int64
        let modified: Double?
    }

    private func listContainer(_ container: String, _ visit: (ListedObject) throws(ReadFailure) -> Void) throws(ReadFailure) {
        var marker: String? = nil
        while true {
            var query = "?format=json&limit=1000"
            if let marker { query += "&marker=" + URLEncoding.queryComponent(marker) }
            let r: HTTPResponse
            do { r = try connection.send(.get, layout.containerPath(container) + query) } catch { throw .unavailable(error.message) }
            if r.status == 404 || r.status == 204 { return }
            guard r.isSuccess, let list = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else {
                throw .unavailable("cannot list \(container): \(connection.explain(r, "GET"))")
            }
            for item in list {
                guard let name = item["name"] as? String else { continue }
                let bytes = (item["bytes"] as? NSNumber)?.int64Value ?? 0
                try visit(ListedObject(name: name, bytes: bytes,
                                       modified: (item["last_modified"] as? String).flatMap(Self.parseTimestamp)))
            }
            guard list.count == 1000, let last = list.last?["name"] as? String else { return }
            marker = last
        }
    }

    /// Swift's `last_modified` (`2026-12-05T15:52:07.123450`, UTC) as seconds since the epoch.
    static func parseTimestamp(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { "-T:".contains($0) })
        guard parts.count == 6, let y = Int32(parts[0]), let mo = Int32(parts[1]), let d = Int32(parts[2]),
              let h = Int32(parts[3]), let mi = Int32(parts[4]), let s = Double(parts[5]) else { return nil }
        var t = tm()
        t.tm_year = y - 1900
        t.tm_mon = mo - 1
        t.tm_mday = d
        t.tm_hour = h
        t.tm_min = mi
        t.tm_sec = 0
        return Double(timegm(&t)) + s
    }

    func removeLeftover(_ entry: TargetEntry) throws(ReadFailure) {
        let prefix = layout.segmentReference("")
        guard case .leftover = entry.kind, entry.relativePath.hasPrefix(prefix) else {
            throw .destination("refusing to remove \(entry.relativePath): it is not one of dvbackup's leftovers")
        }
        let name = String(entry.relativePath.dropFirst(prefix.count))
        // Looked at again now: a segment a manifest references is never removed.
        manifests.removeAll()
        guard try leftoverReason(name) != nil else {
            throw .destination("refusing to remove \(entry.relativePath): a manifest references it")
        }
        let r: HTTPResponse
        do { r = try connection.send(.delete, layout.segmentPath(name)) } catch { throw .unavailable(error.message) }
        guard r.isSuccess || r.status == 404 else { throw .destination(connection.explain(r, "DELETE \(entry.relativePath)")) }
    }
}
