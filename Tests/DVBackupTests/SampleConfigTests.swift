import Foundation
import Testing

@testable import DVBackup

/// The configuration the README tells administrators to start from must itself be valid.
@Suite struct SampleConfigTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The README's ini examples can be pasted: they parse, and no value carries a `; comment`
    /// (Python 2's ConfigParser, and so dvbackup, would cut the value there: a warning).
    @Test func readmeIniExamplesHaveNoInlineComments() throws {
        let readme = try String(contentsOfFile: Self.repoRoot + "/README.md", encoding: .utf8)
        let blocks = readme.components(separatedBy: "```ini\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(!blocks.isEmpty)
        for block in blocks {
            let ini = try INIFile(parsing: block, path: "README.md")
            #expect(ini.warnings.filter { $0.contains("the value ends at ' ;'") }.isEmpty, "\(ini.warnings)")
            for section in ini.sections {
                for e in section.entries {
                    #expect(!e.value.contains(" ;") && !e.value.contains("\t;"), "README: [\(section.name)] \(e.key) = \(e.value)")
                }
            }
        }
    }

    /// Loaded as scripts/install.sh installs it (mode 0640: no warning about a readable secret).
    @Test func configIniSampleLoadsWithoutWarnings() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let copy = dir.join("config.ini")
        try FileManager.default.copyItem(atPath: Self.repoRoot + "/config.ini.sample", toPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: copy)
        let s = try Settings.load(path: copy)
        #expect(s.warnings.isEmpty, "\(s.warnings)")
        #expect(s.backup.storageType == .local)
        #expect(s.backup.incrementalOverlapSeconds == 86_400)
        #expect(s.stores.store(for: "file")?.directory == "/usr/local/dvn/data")
        #expect(s.notificationEmails == ["somebody@dataverse.edu"])
    }
}
