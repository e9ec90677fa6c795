/// What `dvbackup restore` is asked to do: which files, where to, and whether only to list.
public struct RestoreRequest: Sendable, Equatable {
    public enum Selection: Sendable, Equatable {
        /// These datafile ids (each must be in the catalog).
        case datafiles([Int64])
        /// Every file of one dataset.
        case dataset(DatasetPID)
        /// Files whose primary is known damaged or missing and whose copy was proven.
        case damagedPrimaries
    }

    public enum Names: String, Sendable, Equatable, CaseIterable {
        /// `<DIR>/<authority>/<identifier>/<storage name>`, as on the target.
        case storage
        /// `<DIR>/<authority>/<identifier>/<directory label>/<label>` from the latest version.
        case labels
    }

    public enum Destination: Sendable, Equatable {
        /// A directory of the user's (it must exist and be writable).
        case directory(String, names: Names)
        /// Back into the primary store, where Dataverse reads the file, only where the primary
        /// is missing or fails its checksum.
        case intoStore
    }

    public var selection: Selection
    public var destination: Destination
    public var dryRun: Bool

    public init(selection: Selection, destination: Destination, dryRun: Bool = false) {
        self.selection = selection
        self.destination = destination
        self.dryRun = dryRun
    }
}

/// One file to restore: the catalog's row, where its copy lives on the target, and the digest
/// its bytes must have.
public struct RestoreItem: Sendable {
    public let file: CatalogFile
    /// `<authority>/<identifier>/<storage name>` on the target.
    public let relativePath: String
    /// The storage name (the last component of `relativePath`).
    public let storageName: String
    public let expected: ExpectedDigest?
    /// Where `expected` comes from: `catalog` or `proven copy`.
    public let expectedSource: String
    /// The size the bytes must have, when known.
    public let expectedSize: Int64?
}

/// What became of one file.
public struct RestoreResult: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Written, proven against its digest.
        case restored
        /// `--into-store`: the primary matches the catalog; it was not touched.
        case intact
        /// `--dry-run`: would be restored.
        case wouldRestore
        case failed
    }

    public let datafileId: Int64
    public let dataset: String
    public let storageName: String
    public let kind: Kind
    /// Where it was (or would be) written, or why it failed.
    public let detail: String
    public let bytes: Int64
    /// For a failure, the runs table's column it is counted in: FAIL_VERIFY (the copy is
    /// damaged: its bytes differ or end early), FAIL_WRITE (the destination refused it),
    /// FAIL_READ (the copy or the primary could not be read or checked).
    public var failedAs: BackupStatus? = nil
}
