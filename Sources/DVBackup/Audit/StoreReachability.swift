import Foundation

/// Whether a primary store can be used at all, asked when a primary cannot be read or is not
/// found: a store that is down (an S3 endpoint that refuses connections, cannot be resolved,
/// fails TLS, answers 5xx, or refuses the credentials on the bucket; a file store whose
/// directory is not there) is not a finding about the file. The audit then stops with exit 3
/// and records nothing for the batch. A store that answers is asked no more: the object's
/// own 404 is then a missing primary, and its bytes that differ a damaged one.
enum StoreReachability {
    /// `nil` when the store can be used, otherwise why not.
    static func problem(_ store: any SourceStore) -> String? {
        switch store {
        case let s3 as S3Store:
            return s3.probeBucket().map {
                "the S3 store '\(s3.config.id)' (bucket \(s3.settings.bucket) at \(s3.settings.endpoint.url)) cannot be used: \($0)"
            }
        case let file as FileStore:
            let directory = file.config.directory ?? "/"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                return "the file store '\(file.config.id)' has no directory \(directory) (not mounted?)"
            }
            return nil
        default:
            return nil
        }
    }
}
