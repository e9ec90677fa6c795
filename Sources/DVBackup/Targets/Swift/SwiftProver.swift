import Foundation

extension SwiftTarget: ProvableTarget {
    /// Authenticates and checks that the container exists; nothing is created or written.
    public func makeProver() throws(TargetUnavailable) -> any CopyProver {
        let connection: SwiftConnection
        let head: HTTPResponse
        do throws(SwiftRequestError) {
            connection = try SwiftConnection(access: access)
            head = try connection.send(.head, layout.containerPath(layout.container))
        } catch {
            throw TargetUnavailable(access.auth.redact(error.message))
        }
        guard head.isSuccess else {
            throw TargetUnavailable("cannot use container \(layout.container): \(connection.explain(head, "HEAD \(layout.container)"))")
        }
        return SwiftProver(target: self, connection: connection)
    }
}

/// Proves copies in Swift. A full proof GETs the object and hashes its bytes as they stream
/// (a Static Large Object is assembled by the cluster from its segments: Swift stops sending
/// one whose segment changed, and where the bytes stopped is reported); the ETag alone is
/// never trusted for it. A quick proof is a HEAD: size, ETag (single objects) and the
/// X-Object-Meta-Dv-Checksum-* written with the copy.
final class SwiftProver: CopyProver {
    let target: SwiftTarget
    let connection: SwiftConnection

    init(target: SwiftTarget, connection: SwiftConnection) {
        self.target = target
        self.connection = connection
    }

    var proofBatchSize: Int { 1 }

    func prove(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], depth: ProofDepth)
        throws(TargetUnavailable) -> [CopyFinding] {
        var out: [CopyFinding] = []
        for (copy, expected) in copies {
            out.append(depth == .quick ? try head(copy, expected) : try get(copy, expected))
        }
        return out
    }

    private func unavailable(_ e: SwiftRequestError) -> TargetUnavailable {
        TargetUnavailable("cannot use \(target.displayName): \(target.access.auth.redact(e.message))")
    }

    private func head(_ copy: CopyReference, _ expected: ExpectedDigest) throws(TargetUnavailable) -> CopyFinding {
        let name = target.objectURL(copy.relativePath)
        let r: HTTPResponse
        do throws(SwiftRequestError) { r = try connection.send(.head, target.layout.objectPath(copy.relativePath)) } catch {
            throw unavailable(error)
        }
        if r.status == 404 { return .missing("no object \(name)") }
        if r.status >= 500 { throw TargetUnavailable(connection.explain(r, "HEAD \(name)")) }
        guard r.isSuccess else { return .unreadable(connection.explain(r, "HEAD \(name)")) }
        if let want = copy.expectedSize, let size = r.headers["Content-Length"].flatMap({ Int64($0) }), size != want {
            return .corrupt("the object \(name) holds \(size) bytes, \(want) were copied")
        }
        if let type = r.headers["X-Object-Meta-Dv-Checksum-Type"], let value = r.headers["X-Object-Meta-Dv-Checksum-Value"],
           ChecksumAlgorithm(catalogName: type) == expected.algorithm, value.lowercased() != expected.hex {
            return .corrupt("the object \(name) records \(type) \(value) in X-Object-Meta-Dv-Checksum-Value, the reference is \(expected.hex)")
        }
        let isSLO = r.headers["X-Static-Large-Object"]?.lowercased() == "true"
        if !isSLO, expected.algorithm == .md5, let etag = r.headers["Etag"]?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")),
           etag.lowercased() != expected.hex {
            return .corrupt("the object \(name) has ETag \(etag), the reference MD5 is \(expected.hex)")
        }
        return .present(how: "HEAD: size\(isSLO ? "" : ", ETag") and recorded checksum as written")
    }

    private func get(_ copy: CopyReference, _ expected: ExpectedDigest) throws(TargetUnavailable) -> CopyFinding {
        let name = target.objectURL(copy.relativePath)
        var cut: (at: Int64, why: String)? = nil
        var renewed = false
        var attempt = 0
        while attempt < 2 {
            attempt += 1
            let token: SwiftToken
            do throws(SwiftRequestError) { token = try connection.token() } catch { throw unavailable(error) }
            let digest = Digest(expected.algorithm)
            var bytes: Int64 = 0
            let request = HTTPRequest(url: token.storageURL + target.layout.objectPath(copy.relativePath),
                                      headers: [("X-Auth-Token", token.value)])
            let response: HTTPResponse
            do {
                response = try connection.client.perform(request, download: { chunk in
                    digest.update(chunk)
                    bytes += Int64(chunk.count)
                })
            } catch {
                let why = target.access.auth.redact("\(error)")
                // No byte came: the cluster cannot be reached (a second try first).
                if bytes == 0 && cut == nil {
                    if attempt < 2 { continue }
                    throw TargetUnavailable("cannot use \(target.displayName): GET \(name): \(why)")
                }
                cut = (bytes, why)
                continue  // once more: a second stop confirms it
            }
            if response.status == 401, !renewed {
                renewed = true
                attempt -= 1
                do throws(SwiftAuthFailure) { _ = try target.access.auth.renew(after: token, client: connection.client) } catch {
                    throw TargetUnavailable("cannot use \(target.displayName): \(error.message)")
                }
                continue
            }
            if response.status == 404 { return .missing("no object \(name)") }
            if response.status >= 500 {
                if attempt < 2 { continue }
                throw TargetUnavailable(connection.explain(response, "GET \(name)"))
            }
            guard response.isSuccess else {
                // 409 and friends: the cluster refuses to assemble the large object.
                return .corrupt(connection.explain(response, "GET \(name)"))
            }
            if let want = copy.expectedSize, bytes != want {
                return .corrupt("the bytes of \(name) stopped at \(bytes) of \(want)")
            }
            let actual = digest.finalizeHex()
            guard actual == expected.hex else {
                return .corrupt("the object \(name) read back has \(expected.algorithm.rawValue) \(actual), the reference is \(expected.hex)")
            }
            let slo = response.headers["X-Static-Large-Object"]?.lowercased() == "true"
            return .verified(how: "read back with GET\(slo ? " (a large object, every segment)" : ""), \(expected.algorithm.rawValue) matches")
        }
        let stop = cut.map { "stopped at byte \($0.at)\(copy.expectedSize.map { " of \($0)" } ?? "") twice: \($0.why)" } ?? "did not arrive"
        return .corrupt("the bytes of \(name) \(stop) (Swift stops sending a large object whose segment changed or is gone)")
    }
}
