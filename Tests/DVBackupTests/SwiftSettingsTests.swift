import Foundation
import Testing
@testable import DVBackup

/// The Swift keys of [Backup], the OpenStack variables that stand in for them, and sizes.
@Suite struct SwiftSettingsTests {
    func swiftConfig(_ lines: String) -> String {
        minimalConfig(backup: "StorageType = swift\n" + lines)
    }

    func load(_ text: String, env: [String: String] = [:]) throws -> (Settings, SwiftSettings) {
        let s = try Settings(ini: INIFile(parsing: text, path: configPath), environment: env)
        return (s, try #require(s.backup.swift))
    }

    func error(_ text: String, env: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try Settings(ini: INIFile(parsing: text, path: configPath), environment: env)
            return nil
        } catch {
            return error
        }
    }

    static let v1Keys = """
        SwiftAuthUrl = http://swift.example.edu:8080/auth/v1.0
        SwiftUser = acct:backup
        SwiftKey = FileKey-4711
        SwiftContainer = dataverse-backup
        """

    @Test func v1FromTheFileWithDefaults() throws {
        let (s, w) = try load(swiftConfig(Self.v1Keys))
        #expect(s.backup.storageType == .swift)
        #expect(s.backup.backupDirectory == "", "BackupDirectory is not needed for swift")
        #expect(w.authURL == "http://swift.example.edu:8080/auth/v1.0")
        #expect(w.authVersion == .v1, "inferred from the URL's path")
        #expect(w.user == "acct:backup")
        #expect(w.key == "FileKey-4711")
        #expect(w.tenant == nil)
        #expect(w.container == "dataverse-backup")
        #expect(w.segmentContainer == "dataverse-backup_segments")
        #expect(w.segmentSize == 1 << 30)
        #expect(w.userDomain == "Default" && w.projectDomain == "Default")
        #expect(w.retryDelays == [1, 2, 4, 8])
        #expect(w.retry == RetryPolicy(delays: [1, 2, 4, 8], jitter: 0.75...1.25), "the delays with ±25 % jitter")
        #expect(w.endpoint == nil)
        #expect(s.warnings.isEmpty, "\(s.warnings)")
        #expect(w.origins["SwiftKey"] == "line \(lineNumber(of: "SwiftKey", in: swiftConfig(Self.v1Keys))!)")
    }

    @Test func theOriginalFilesSwiftSectionWithAContainer() throws {
        let text = originalConfigINI.replacingOccurrences(of: "StorageType: local", with: "StorageType: swift")
            .replacingOccurrences(of: "SwiftEndPoint:", with: "SwiftContainer: backups\nSwiftEndPoint:")
        let (s, w) = try load(text)
        #expect(w.authVersion == .v2)
        #expect(w.authURL == "https://something.dataverse.edu/swift/v2.0/tokens")
        #expect(w.tenant == "zzz")
        #expect(w.endpoint == "https://something.dataverse.edu/swift/v1")
        #expect(s.warnings.isEmpty, "\(s.warnings)")
    }

    @Test func v3KeysAndDomains() throws {
        let (_, w) = try load(swiftConfig("""
            SwiftAuthUrl = https://keystone.example.edu:5000/v3
            SwiftAuthVersion = 3
            SwiftUser = backup
            SwiftKey = pw
            SwiftTenant = dataverse
            SwiftUserDomain = Users
            SwiftProjectDomain = Projects
            SwiftRegion = RegionTwo
            SwiftEndPoint = https://swift.example.edu/v1/AUTH_abc/
            SwiftContainer = c
            SwiftSegmentSize = 512MiB
            SwiftRetryDelays = 0.5, 1, 2s
            """))
        #expect(w.authVersion == .v3)
        #expect(w.tenant == "dataverse")
        #expect(w.userDomain == "Users")
        #expect(w.projectDomain == "Projects")
        #expect(w.region == "RegionTwo")
        #expect(w.endpoint == "https://swift.example.edu/v1/AUTH_abc", "a trailing slash is dropped")
        #expect(w.segmentSize == 512 << 20)
        #expect(w.retryDelays == [0.5, 1, 2])
    }

    @Test func anOpenrcEnvironmentFillsWhatTheFileLeavesOut() throws {
        let env = ["OS_AUTH_URL": "https://keystone.example.edu:5000/v3", "OS_USERNAME": "envuser", "OS_PASSWORD": "EnvPass-1",
                   "OS_PROJECT_NAME": "envproject", "OS_USER_DOMAIN_NAME": "UD", "OS_PROJECT_DOMAIN_NAME": "PD",
                   "OS_REGION_NAME": "RegionOne", "ST_USER": "not-used"]
        let (_, w) = try load(swiftConfig("SwiftContainer = c\nSwiftUser = fileuser"), env: env)
        #expect(w.authVersion == .v3)
        #expect(w.authURL == "https://keystone.example.edu:5000/v3")
        #expect(w.user == "fileuser", "the file's key wins")
        #expect(w.key == "EnvPass-1")
        #expect(w.tenant == "envproject")
        #expect(w.userDomain == "UD")
        #expect(w.projectDomain == "PD")
        #expect(w.region == "RegionOne")
        #expect(w.origins["SwiftKey"] == "OS_PASSWORD")
        #expect(w.origins["SwiftAuthUrl"] == "OS_AUTH_URL")
        #expect(w.origins["SwiftUser"]?.hasPrefix("line") == true)
    }

    @Test func osTenantNameWorksAndV2IsReadFromTheURL() throws {
        let env = ["OS_AUTH_URL": "https://keystone.example.edu:5000/v2.0", "OS_USERNAME": "u", "OS_PASSWORD": "p",
                   "OS_TENANT_NAME": "oldtenant"]
        let (_, w) = try load(swiftConfig("SwiftContainer = c"), env: env)
        #expect(w.authVersion == .v2)
        #expect(w.tenant == "oldtenant")
        #expect(w.origins["SwiftTenant"] == "OS_TENANT_NAME")
    }

    @Test func osIdentityApiVersionDecidesWhenTheFileDoesNot() throws {
        let env = ["OS_AUTH_URL": "https://keystone.example.edu:5000/", "OS_USERNAME": "u", "OS_PASSWORD": "p",
                   "OS_PROJECT_NAME": "p", "OS_IDENTITY_API_VERSION": "3"]
        let (_, w) = try load(swiftConfig("SwiftContainer = c"), env: env)
        #expect(w.authVersion == .v3)
        #expect(w.origins["SwiftAuthVersion"]?.contains("OS_IDENTITY_API_VERSION") == true)
    }

    @Test func theSwiftCLIsStVariablesAreAuthV1() throws {
        let env = ["ST_AUTH": "http://127.0.0.1:8080/auth/v1.0", "ST_USER": "test:tester", "ST_KEY": "testing",
                   "OS_AUTH_URL": "https://keystone.example.edu/v3", "OS_PASSWORD": "not-this"]
        let (_, w) = try load(swiftConfig("SwiftContainer = c"), env: env)
        #expect(w.authVersion == .v1)
        #expect(w.authURL == "http://127.0.0.1:8080/auth/v1.0")
        #expect(w.key == "testing")
        #expect(w.origins["SwiftKey"] == "ST_KEY")
    }

    @Test func aV1FileDoesNotTakeKeystoneVariables() {
        let env = ["OS_USERNAME": "u", "OS_PASSWORD": "p"]
        let text = swiftConfig("SwiftAuthUrl = http://h/auth/v1.0\nSwiftContainer = c")
        let e = error(text, env: env)
        #expect(e?.key == "SwiftUser")
        #expect(e?.message.contains("ST_USER is not set in the environment") == true, "\(String(describing: e))")
    }

    @Test func nothingAtAllNamesBothFamiliesOfVariables() {
        let e = error(swiftConfig("SwiftContainer = c"))
        #expect(e?.key == "SwiftAuthUrl")
        #expect(e?.message.contains("OS_AUTH_URL") == true && e?.message.contains("ST_AUTH") == true)
    }

    @Test func v3NeedsAProject() {
        let text = swiftConfig("SwiftAuthUrl = https://k/v3\nSwiftUser = u\nSwiftKey = k\nSwiftContainer = c")
        let e = error(text)
        #expect(e?.key == "SwiftTenant")
        #expect(e?.message.contains("OS_PROJECT_NAME / OS_TENANT_NAME") == true, "\(String(describing: e))")
    }

    @Test(arguments: [
        ("SwiftAuthVersion = 4", "SwiftAuthVersion", "not an auth version"),
        ("SwiftAuthUrl = ftp://h/auth", "SwiftAuthUrl", "not an http"),
        ("SwiftEndPoint = swift.example.edu/v1", "SwiftEndPoint", "not an http"),
        ("SwiftContainer = a/b", "SwiftContainer", "contains '/'"),
        ("SwiftSegmentSize = 6GiB", "SwiftSegmentSize", "outside 1 MiB to 5 GiB"),
        ("SwiftSegmentSize = 1000", "SwiftSegmentSize", "outside 1 MiB to 5 GiB"),
        ("SwiftSegmentSize = lots", "SwiftSegmentSize", "is not a size"),
        ("SwiftRetryDelays = soon", "SwiftRetryDelays", "not a list"),
        ("SwiftRetryDelays = 1 2 3 4 5 6 7 8 9 10 11", "SwiftRetryDelays", "not a list"),
        ("SwiftRetryDelays = 700", "SwiftRetryDelays", "not a list"),
    ])
    func badValuesNameTheirLineAndKey(line: String, key: String, words: String) {
        let text = swiftConfig(Self.v1Keys + "\n" + line)
        let e = error(text)
        #expect(e?.key == key, "\(String(describing: e))")
        #expect(e?.line == lineNumber(of: line, in: text))
        #expect(e?.message.contains(words) == true, "\(String(describing: e))")
        #expect(e?.description.contains("FileKey-4711") == false, "no secret in the message")
    }

    @Test func aMissingContainerIsNamed() {
        let text = swiftConfig("SwiftAuthUrl = http://h/auth/v1.0\nSwiftUser = u\nSwiftKey = k")
        let e = error(text)
        #expect(e?.key == "SwiftContainer")
        #expect(e?.line == lineNumber(of: "[Backup]", in: text))
    }

    @Test func anEmptyValueFallsBackToTheEnvironment() throws {
        let (_, w) = try load(swiftConfig(Self.v1Keys.replacingOccurrences(of: "SwiftKey = FileKey-4711", with: "SwiftKey =")),
                              env: ["ST_KEY": "from-env"])
        #expect(w.key == "from-env")
    }

    @Test(arguments: [
        ("1", SwiftAuthVersion.v1), ("1.0", .v1), ("v1", .v1), ("2", .v2), ("2.0", .v2), ("3", .v3), ("v3", .v3), ("3.0", .v3),
    ])
    func authVersionSpellings(text: String, version: SwiftAuthVersion) {
        #expect(SwiftAuthVersion(text: text) == version)
    }

    @Test func authVersionFromTheURL() {
        #expect(SwiftAuthVersion.named(in: "https://k.example.edu:5000/v3") == .v3)
        #expect(SwiftAuthVersion.named(in: "https://k.example.edu:5000/v3/auth/tokens") == .v3)
        #expect(SwiftAuthVersion.named(in: "https://k.example.edu/identity/v2.0/tokens") == .v2)
        #expect(SwiftAuthVersion.named(in: "http://127.0.0.1:8080/auth/v1.0") == .v1)
        #expect(SwiftAuthVersion.named(in: "https://k.example.edu:5000/") == nil)
        #expect(SwiftAuthVersion.named(in: "https://h/x?v=v3") == nil, "the query does not count")
    }
}

@Suite struct SizeParserTests {
    static let cases: [(String, Int64)] = [
        ("1048576", 1_048_576), ("512MiB", 536_870_912), ("1GiB", 1_073_741_824), ("1 GiB", 1_073_741_824),
        ("5GiB", 5_368_709_120), ("1.5GiB", 1_610_612_736), ("64mib", 67_108_864), ("100MB", 100_000_000),
        ("2G", 2_147_483_648), ("4096 B", 4096), ("1KiB", 1024),
    ]

    @Test(arguments: cases)
    func sizes(text: String, bytes: Int64) {
        #expect(SizeParser.bytes(text) == bytes)
    }

    @Test(arguments: ["", "MiB", "1.5", "-1", "1..5GiB", "12 parsecs", "0x10", "1e9"])
    func notSizes(text: String) {
        #expect(SizeParser.bytes(text) == nil)
    }

    @Test func format() {
        #expect(SizeParser.format(1 << 30) == "1 GiB")
        #expect(SizeParser.format(3 << 19) == "1.50 MiB")
        #expect(SizeParser.format(1000) == "1000 bytes")
        #expect(SizeParser.format(5 << 30) == "5 GiB")
    }
}

@Suite struct SwiftEffectiveSettingsTests {
    @Test func checkConfigShowsOriginsAndNeverTheKey() throws {
        let text = minimalConfig(backup: """
            StorageType = swift
            SwiftContainer = dv
            SwiftSegmentSize = 256MiB
            SwiftEndPoint = https://swift.example.edu/v1/AUTH_x?temp_url_sig=abc
            """)
        let env = ["OS_AUTH_URL": "https://keystone.example.edu/v3", "OS_USERNAME": "u1", "OS_PASSWORD": "EnvSecret-99",
                   "OS_PROJECT_NAME": "proj"]
        let s = try Settings(ini: INIFile(parsing: text, path: configPath), environment: env)
        let out = try captureOutput { EffectiveSettings(s).render(into: $0) }
        #expect(!out.contains("EnvSecret-99"))
        #expect(out.contains("SwiftKey = *** (from OS_PASSWORD)"))
        #expect(out.contains("SwiftAuthUrl = https://keystone.example.edu/v3 (from OS_AUTH_URL)"))
        #expect(out.contains("SwiftAuthVersion = 3 (not set: 3, because OS_AUTH_URL is set)"))
        #expect(out.contains("SwiftTenant = proj (from OS_PROJECT_NAME)"))
        #expect(out.contains("SwiftUserDomain = Default (default)"))
        #expect(out.contains("SwiftEndPoint = https://swift.example.edu/v1/AUTH_x\n"), "no query: \(out)")
        #expect(out.contains("SwiftContainer = dv (segments of large files in dv_segments)"))
        #expect(out.contains("SwiftSegmentSize = 256 MiB (268435456 bytes) (line"))
        #expect(out.contains("SwiftRetryDelays = 1 2 4 8 (seconds) (default)"))
        #expect(out.contains("BackupDirectory = (not used by StorageType swift)"))
    }
}

/// The Swift example of config.ini.sample, uncommented, is a valid configuration.
@Suite struct SwiftSampleConfigTests {
    @Test func theCommentedSwiftExampleLoads() throws {
        let text = try String(contentsOfFile: SampleConfigTests.repoRoot + "/config.ini.sample", encoding: .utf8)
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("StorageType:") { continue }
            if line.hasPrefix(";StorageType: swift") || line.hasPrefix(";Swift") {
                lines.append(String(line.dropFirst()))
            } else {
                lines.append(String(line))
            }
        }
        let s = try Settings(ini: INIFile(parsing: lines.joined(separator: "\n"), path: "config.ini.sample"), environment: [:])
        #expect(s.warnings.isEmpty, "\(s.warnings)")
        let w = try #require(s.backup.swift)
        #expect(w.authVersion == .v1)
        #expect(w.container == "dataverse-backup")
        #expect(w.segmentSize == 1 << 30)
        #expect(w.tenant == "zzz")
        #expect(w.retryDelays == [1, 2, 4, 8])
    }
}
