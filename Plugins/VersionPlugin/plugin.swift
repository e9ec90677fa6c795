import Foundation
import PackagePlugin

/// Writes `BuildVersion.swift` (`enum BuildVersion { static let describe = "v1.2-3-gabc" }`)
/// before every build of the target that uses it, from `scripts/version.sh`: `git describe
/// --tags --always --dirty` in a clone, the `VERSION` file that `git archive` fills in (its
/// `export-subst` attribute) in a tarball without `.git`, `unknown` otherwise. A prebuild
/// command runs on every build, so a new commit or tag is never missed; the script rewrites
/// the file only when the version changed, so an unchanged version recompiles nothing.
@main
struct VersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "scripts/version.sh")
        return [.prebuildCommand(displayName: "dvbackup version from git describe",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: [script.path, context.package.directoryURL.path, out.path],
                                 outputFilesDirectory: out)]
    }
}
