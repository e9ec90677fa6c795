import Testing

@testable import DVBackup

/// `[Backup] MetricsFile` and `ProgressInterval`: read, defaulted, and refused with the line.
@Suite struct MonitoringSettingsTests {
    func load(_ backupLines: String) throws -> Settings {
        let text = """
            [Database]
            Host: db
            Database: dvndb
            Username: dv
            BackupDatabase: backupdb
            [Backup]
            StorageType: local
            BackupDirectory: /b
            \(backupLines)
            """
        return try Settings(ini: try INIFile(parsing: text, path: "/etc/dvbackup/config.ini"), environment: [:])
    }

    @Test func defaultsAndValues() throws {
        let d = try load("")
        #expect(d.backup.metricsFile == nil && d.backup.progressIntervalSeconds == 600)
        let s = try load("MetricsFile: /var/lib/prometheus/node-exporter/dvbackup.prom\nProgressInterval: 90s")
        #expect(s.backup.metricsFile == "/var/lib/prometheus/node-exporter/dvbackup.prom")
        #expect(s.backup.progressIntervalSeconds == 90)
        #expect(s.warnings.isEmpty, "\(s.warnings)")
    }

    @Test(arguments: [("ProgressInterval: soon", 9, "bad duration 'soon'"), ("ProgressInterval: 0", 9, "bad duration '0'"),
                      ("MetricsFile: dvbackup.prom", 9, "must be an absolute path")])
    func badValuesNameTheLine(line: String, number: Int, message: String) {
        #expect {
            _ = try load(line)
        } throws: { error in
            let text = "\(error)"
            return text.contains("/etc/dvbackup/config.ini:\(number)") && text.contains(message)
        }
    }
}
