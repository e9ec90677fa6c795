import Foundation

/// Where copies live in Swift: the names of objects, segments and temporary copies. Pure functions.
///
/// A copy is the object `<authority>/<identifier>/<storage name>` in the configured
/// container. A large copy is a Static Large Object whose segments are in
/// `<container>_segments`, named `<object>/slo/<attempt>/<index>`; a copy being proven before
/// it is copied into place is `<object>/tmp/<attempt>` there. Everything of an object in the
/// segments container is under `<object>/`, so what a crash left behind is found with one
/// listing.
struct SwiftLayout: Sendable, Equatable {
    let container: String
    var segmentContainer: String { container + "_segments" }

    /// `/<container>`, encoded, to append to the storage URL.
    func containerPath(_ name: String) -> String { "/" + URLEncoding.queryComponent(name) }

    /// `/<container>/<object>`, encoded, to append to the storage URL.
    func objectPath(_ object: String) -> String { containerPath(container) + "/" + URLEncoding.path(object) }

    /// `/<container>_segments/<name>`, encoded.
    func segmentPath(_ name: String) -> String { containerPath(segmentContainer) + "/" + URLEncoding.path(name) }

    /// How a manifest or `X-Copy-From` names a segment: `/<container>_segments/<name>`, not
    /// encoded (Swift encodes it itself in a manifest).
    func segmentReference(_ name: String) -> String { "/" + segmentContainer + "/" + name }

    static func segmentName(object: String, attempt: String, index: Int) -> String {
        let digits = String(index)
        return object + "/slo/" + attempt + "/" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func temporaryName(object: String, attempt: String) -> String {
        object + "/tmp/" + attempt
    }

    /// The prefix of everything of `object` in the segments container.
    static func leftoverPrefix(_ object: String) -> String { object + "/" }

    /// Whether `name` (in the segments container) is a segment or temporary copy of `object`
    /// (ours, or the swift CLI's `<object>/slo/…`).
    static func isLeftover(_ name: String, of object: String) -> Bool {
        name.hasPrefix(object + "/slo/") || name.hasPrefix(object + "/tmp/")
    }

    /// A new attempt's id: the UTC time and random bits, e.g. `20261121T223549Z-5f3a9c1e`.
    static func newAttemptId() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y%m%dT%H%M%SZ", &tmv)
        let random = (0..<4).map { _ in UInt8.random(in: 0...255) }
        return cString(buf) + "-" + Hex.encode(random)
    }

    /// Object names Swift refuses: longer than its limit, or not UTF-8 text it can store.
    static func objectNameProblem(_ name: String, maxLength: Int) -> String? {
        if name.utf8.count > maxLength {
            return "the object name '\(name)' is \(name.utf8.count) bytes long; the cluster allows \(maxLength)"
        }
        // The longest segment name adds "/slo/<attempt>/<index>".
        if name.utf8.count + 40 > maxLength {
            return "the object name '\(name)' leaves no room for its segment names (the cluster allows \(maxLength) bytes)"
        }
        return nil
    }
}
