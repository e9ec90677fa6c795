import Testing
@testable import DVBackup

/// `--config` when not given: $DVBACKUP_CONFIG, then ./config.ini when it exists, then
/// /etc/dvbackup/config.ini.
@Suite struct ConfigLocationTests {
    @Test func environmentComesFirst() {
        let p = ConfigLocation.defaultPath(environment: ["DVBACKUP_CONFIG": "/srv/dv/backup.ini"], fileExists: { _ in true })
        #expect(p == "/srv/dv/backup.ini")
    }

    @Test func anEmptyVariableIsNotSet() {
        let p = ConfigLocation.defaultPath(environment: ["DVBACKUP_CONFIG": ""], fileExists: { $0 == "config.ini" })
        #expect(p == "config.ini")
    }

    @Test func thenTheCurrentDirectoryWhenTheFileIsThere() {
        var asked: [String] = []
        let p = ConfigLocation.defaultPath(environment: [:], fileExists: { asked.append($0); return true })
        #expect(p == "config.ini")
        #expect(asked == ["config.ini"])
    }

    @Test func thenEtc() {
        #expect(ConfigLocation.defaultPath(environment: ["HOME": "/root"], fileExists: { _ in false }) == "/etc/dvbackup/config.ini")
    }
}
