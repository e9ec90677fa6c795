import Foundation

/// A `dvobject.storageidentifier` split into its store id and the driver-specific part.
///
/// `file://18b39722140-50eb7d3c5ece` → store `file`, rest `18b39722140-50eb7d3c5ece`;
/// `s3://bucket:18b…` → store `s3`, rest `bucket:18b…`; a bare legacy name has no store id
/// and belongs to the installation's default store.
public struct StorageIdentifier: Sendable, Equatable {
    public let storeId: String?
    public let rest: String

    public init(parsing raw: String) {
        if let range = raw.range(of: "://") {
            storeId = String(raw[..<range.lowerBound])
            rest = String(raw[range.upperBound...])
        } else {
            storeId = nil
            rest = raw
        }
    }

    /// The object's name: for S3-style identifiers the part after the last `:`, as
    /// Dataverse's S3AccessIO reads it (file stores take the rest as it is).
    public func objectName(lastColonSegment: Bool) -> String {
        guard lastColonSegment, let i = rest.lastIndex(of: ":") else { return rest }
        return String(rest[rest.index(after: i)...])
    }
}

/// Checks that paths built from catalog values stay inside the directory they are meant for.
public enum PathSafety {
    /// A relative path made of `/`-separated segments, none empty, `.` or `..`, and no NUL.
    /// Returns the problem, or `nil` when the path is safe.
    public static func problem(in relative: String, what: String) -> String? {
        if relative.isEmpty { return "\(what) is empty" }
        if relative.hasPrefix("/") { return "\(what) '\(relative)' is an absolute path" }
        if relative.contains("\0") { return "\(what) contains a NUL byte" }
        for segment in relative.split(separator: "/", omittingEmptySubsequences: false) {
            if segment == ".." { return "\(what) '\(relative)' has a '..' segment that would climb out of its directory" }
            if segment == "." || segment.isEmpty { return "\(what) '\(relative)' has an empty or '.' segment" }
        }
        return nil
    }

    /// The relative path `<authority>/<identifier>/<name>` of a file, checked.
    public static func datasetRelativePath(authority: String, identifier: String, name: String) -> Result<String, FileFailure> {
        if let p = problem(in: authority, what: "dataset authority") { return .failure(FileFailure(.failRead, p)) }
        if let p = problem(in: identifier, what: "dataset identifier") { return .failure(FileFailure(.failRead, p)) }
        if let p = problem(in: name, what: "storage name") { return .failure(FileFailure(.failRead, p)) }
        return .success("\(authority)/\(identifier)/\(name)")
    }
}
