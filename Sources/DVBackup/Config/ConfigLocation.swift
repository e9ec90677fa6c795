import Foundation

/// Where the configuration file is when `--config` is not given, in this order:
/// `$DVBACKUP_CONFIG` (when set and not empty), `./config.ini` when it exists (the original
/// run_backup.py's place, beside the script), then `/etc/dvbackup/config.ini` (where
/// scripts/install.sh puts it; named even when missing, so the error names it).
public enum ConfigLocation {
    public static let environmentVariable = "DVBACKUP_CONFIG"
    public static let localFile = "config.ini"
    public static let systemFile = "/etc/dvbackup/config.ini"

    /// The default path. `environment` and `fileExists` are injected for tests.
    public static func defaultPath(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String {
        if let fromEnv = environment[environmentVariable], !fromEnv.isEmpty { return fromEnv }
        if fileExists(localFile) { return localFile }
        return systemFile
    }

    /// The sentence `--help` shows for `--config`.
    public static let help = "default: $\(environmentVariable), else ./\(localFile) when it exists, else \(systemFile)"
}
