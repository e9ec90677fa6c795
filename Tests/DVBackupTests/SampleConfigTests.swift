import Foundation
import Testing

@testable import DVBackup

/// The configuration the README tells administrators to start from must itself be valid.
@Suite struct SampleConfigTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func configIniSampleLoadsWithoutWarnings() throws {
        let s = try Settings.load(path: Self.repoRoot + "/config.ini.sample")
        #expect(s.warnings.isEmpty, "\(s.warnings)")
        #expect(s.backup.storageType == .local)
        #expect(s.backup.incrementalOverlapSeconds == 86_400)
        #expect(s.stores.store(for: "file")?.directory == "/usr/local/dvn/data")
        #expect(s.notificationEmails == ["somebody@dataverse.edu"])
    }
}
