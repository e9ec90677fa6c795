import Foundation

/// Checks of `config.ini` as a whole, before and beside its keys' own checks: values that
/// span lines, and secrets in a file every user can read.
enum ConfigFileChecks {
    /// The sections dvbackup reads. Their keys all take one line.
    static let knownSections = ["Database", "Repository", "Backup", "Stores", "Notifications", "Audit"]

    /// Refuses a value continued on an indented line, in every section dvbackup reads: no key
    /// of dvbackup takes more than one line, and the classic mistake, an indented `Password:`
    /// under `Username:`, would otherwise make the password part of the user name, printed
    /// by check-config and by the connection error. The error names the file, the line and
    /// the key; never the value.
    static func refuseMultiLineValues(_ ini: INIFile) throws(ConfigError) {
        let known = Set(knownSections.map { $0.lowercased() })
        for section in ini.sections where known.contains(section.name.lowercased()) {
            for entry in section.entries {
                guard let next = entry.continuationLines.first else { continue }
                throw ConfigError(
                    path: ini.path, line: next, section: section.name, key: entry.key,
                    "line \(next) is indented, so an INI reader takes it as more of the value of \(entry.key) "
                    + "(line \(entry.line)); \(entry.key) takes one line: remove the indentation of line \(next) "
                    + "(if it is a key of its own) or put the value on line \(entry.line)")
            }
        }
    }

    /// Whether a key holds a secret: its name says password, secret, token or key, except the
    /// keys that name a file (SshPrivateKey: the key file has its own permissions) or an
    /// environment variable (…Env).
    static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased()
        if k.hasSuffix("env") || k == "sshprivatekey" { return false }
        return ["password", "secret", "token", "key"].contains { k.contains($0) }
    }

    /// A warning when a file that holds a secret can be read by every user (`o+r`), naming
    /// the file, its mode and the first such key (never its value); nil otherwise.
    static func worldReadableSecretWarning(_ ini: INIFile, mode: Int) -> String? {
        guard mode & 0o004 != 0 else { return nil }
        let known = Set(knownSections.map { $0.lowercased() })
        for section in ini.sections where known.contains(section.name.lowercased()) {
            for entry in section.entries where isSecretKey(entry.key) && !entry.value.isEmpty {
                let octal = "0" + String(mode & 0o7777, radix: 8)
                return "\(ini.path) holds a secret ([\(section.name)] \(entry.key), line \(entry.line)) and every user "
                    + "of this machine can read it (mode \(octal)): chmod o-r \(ini.path) (scripts/install.sh makes it "
                    + "0640, owner root, group of the user that runs dvbackup)"
            }
        }
        return nil
    }

    /// The permission bits of `path`, or nil when they cannot be read.
    static func mode(of path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }
}
