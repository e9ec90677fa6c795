/// Recognises dvbackup's own leftovers on a file-system target (local, SFTP) by their names:
/// the temporary of an interrupted copy and the probe file of a target check. Swift's
/// leftovers (segments no manifest references, staged `<object>/tmp/<attempt>` copies) are
/// recognised by `SwiftReader`, which reads the manifests.
///
/// Both spellings of a temporary are recognised: the original `.<name>.dvbackup-partial`, and
/// the shorter `.dvbackup-<datafile id>….partial` form (Targets/PartialCopyPath.swift).
public enum LeftoverNames {
    /// Why the file `name` (the last path component) is a leftover of dvbackup, or `nil`
    /// when it is not one (a copy of a data file, or anything else).
    public static func why(_ name: String) -> String? {
        guard name.hasPrefix(".") else { return nil }
        if name.hasSuffix(".dvbackup-partial"), name.count > ".dvbackup-partial".count + 1 {
            return "temporary of an interrupted copy"
        }
        if name.hasPrefix(".dvbackup-"), name.hasSuffix(".partial"), name.count > ".dvbackup-.partial".count {
            return "temporary of an interrupted copy"
        }
        if name.hasPrefix(".dvbackup-probe-"), name.dropFirst(".dvbackup-probe-".count).allSatisfy(\.isNumber) {
            return "probe file of an interrupted target check"
        }
        return nil
    }

    /// The last component of a `/`-separated path.
    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
