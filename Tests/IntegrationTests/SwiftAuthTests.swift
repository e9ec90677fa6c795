import DVBackup
import Foundation
import Testing

/// Authentication and the failures that stop a run before any file is read (exit 3).
extension SwiftTests {
    /// A catalog with one file, for runs that must not get to it.
    func oneFile(_ seed: UInt64) throws -> (Sandbox, TestFile) {
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUTH")
        return (s, try s.addFile(dataset: ds, size: 1000, checksumType: .md5))
    }

    @Test func anUnreachableAuthServiceStopsTheRunWithExit3() throws {
        _ = try TestSwift.requireServer()
        let (s, _) = try oneFile(221)
        let url = "http://127.0.0.1:1/auth/v1.0"
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: url, container: s.swiftContainer))
        #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("cannot reach the Swift auth service at \(url)"), "\(r.stderr)")
        #expect(r.stderr.contains("after 3 attempts"), "retried with the configured delays")
        #expect(try s.statusRows().isEmpty, "no file was read")
        #expect(!r.stderr.contains(TestSwift.key))
    }

    @Test func refusedCredentialsStopTheRunWithExit3WithoutShowingTheKey() throws {
        let authURL = try TestSwift.requireServer()
        let (s, _) = try oneFile(222)
        let wrongKey = "not-the-key-4711"
        let config = try s.writeSwiftConfig(authURL: authURL, container: s.swiftContainer, keys: [
            "SwiftAuthUrl = \(authURL)", "SwiftAuthVersion = 1", "SwiftUser = \(TestSwift.user)", "SwiftKey = \(wrongKey)",
        ])
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("the Swift auth service at \(authURL) refused the credentials of user '\(TestSwift.user)' (401 Unauthorized"), "\(r.stderr)")
        #expect(!(r.stderr + r.stdout).contains(wrongKey))
        #expect(try s.statusRows().isEmpty)
        let check = try s.dvbackup("check-config", config: config)
        #expect(check.code == 0)
        #expect(check.stdout.contains("SwiftKey = *** (line"))
        #expect(!(check.stdout + check.stderr).contains(wrongKey))
    }

    @Test func anAccountTheUserMayNotUseIs403AndAWrongEndpointIs404() throws {
        let authURL = try TestSwift.requireServer()
        let (s, _) = try oneFile(223)
        let probe = try SwiftProbe(authURL: authURL)
        // Another account of the cluster: tempauth answers 403.
        let other = probe.storageURL.replacingOccurrences(of: "/AUTH_", with: "/AUTH_dvbother") + "x"
        let r403 = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: s.swiftContainer,
                                                                      extra: ["SwiftEndPoint = \(other)"]))
        #expect(r403.code == 3, "\(r403.stderr)")
        #expect(r403.stderr.contains("cannot use the Swift account at \(other): HEAD \(other): 403 Forbidden"), "\(r403.stderr)")
        #expect(!r403.stderr.contains("_tk"), "no token in the message")
        // A storage URL with a wrong path: nothing is there.
        let wrong = probe.storageURL + "/not-an-account"
        let r404 = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: s.swiftContainer,
                                                                      extra: ["SwiftEndPoint = \(wrong)?secret=1"]))
        #expect(r404.code == 3, "\(r404.stderr)")
        #expect(r404.stderr.contains("the Swift account at \(wrong) does not exist (404 Not Found): check SwiftEndPoint"), "\(r404.stderr)")
        #expect(!r404.stderr.contains("secret=1"), "the query of a URL is not shown")
        #expect(try s.statusRows().isEmpty)
    }

    @Test func theSwiftCLIsVariablesStandInForMissingKeys() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 224)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/STENV")
        let f = try s.addFile(dataset: ds, size: 1000, checksumType: .sha1)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, keys: [])
        let env = ["ST_AUTH": authURL, "ST_USER": TestSwift.user, "ST_KEY": TestSwift.key]
        let check = try s.dvbackup("check-config", config: config, environment: env)
        #expect(check.code == 0, "\(check.stderr)")
        #expect(check.stdout.contains("SwiftAuthUrl = \(authURL) (from ST_AUTH)"), "\(check.stdout)")
        #expect(check.stdout.contains("SwiftKey = *** (from ST_KEY)"))
        #expect(!check.stdout.contains(TestSwift.key))
        let missing = try s.dvbackup("run", config: config)
        #expect(missing.code == 2, "without the variables the configuration is incomplete")
        #expect(missing.stderr.contains("SwiftAuthUrl: the key is missing"), "\(missing.stderr)")
        let r = try s.dvbackup("run", config: config, environment: env)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(try probe.get(container, f.relativePath) == f.bytes)
    }
}

/// Keystone v3 in front of the same cluster.
@Suite(.enabled(if: TestSwift.keystoneEnabled), .serialized)
struct SwiftKeystoneTests {
    func keys(password: String = TestSwift.keystonePassword, region: String? = TestSwift.keystoneRegion) throws -> [String] {
        [
            "SwiftAuthUrl = \(try TestSwift.requireKeystone())",
            "SwiftAuthVersion = 3",
            "SwiftUser = \(TestSwift.keystoneUser)",
            "SwiftKey = \(password)",
            "SwiftTenant = \(TestSwift.keystoneProject)",
            "SwiftUserDomain = \(TestSwift.keystoneUserDomain)",
            "SwiftProjectDomain = \(TestSwift.keystoneProjectDomain)",
        ] + (region.map { ["SwiftRegion = \($0)"] } ?? [])
    }

    @Test func v3AuthWithTheFilesKeys() throws {
        let url = try TestSwift.requireKeystone()
        let s = try Sandbox(seed: 231)
        let probe = try SwiftProbe(keystone: url)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/KEYSTONE")
        let small = try s.addFile(dataset: ds, size: 5000, checksumType: .md5)
        let large = try s.addFile(dataset: ds, size: 3 << 20, checksumType: .sha512)
        let config = try s.writeSwiftConfig(authURL: url, container: container, keys: try keys(), extra: ["SwiftSegmentSize = 1MiB"])
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("authenticated as \(TestSwift.keystoneUser) at \(url) (auth v3)"), "\(r.stderr)")
        #expect(r.stderr.contains("account \(probe.storageURL)"), "the storage URL comes from the catalog")
        for f in [small, large] {
            #expect(try s.statusRows()[f.id]?.status == "OK")
            #expect(try probe.get(container, f.relativePath) == f.bytes)
        }
        #expect(try probe.manifestSegments(container, large.relativePath).count == 3)
    }

    @Test func anOpenrcEnvironmentStandsInForTheKeys() throws {
        let url = try TestSwift.requireKeystone()
        let s = try Sandbox(seed: 232)
        let probe = try SwiftProbe(keystone: url)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/OPENRC")
        let f = try s.addFile(dataset: ds, size: 2000, checksumType: .sha256)
        var env = ["OS_AUTH_URL": url, "OS_USERNAME": TestSwift.keystoneUser, "OS_PASSWORD": TestSwift.keystonePassword,
                   "OS_PROJECT_NAME": TestSwift.keystoneProject, "OS_USER_DOMAIN_NAME": TestSwift.keystoneUserDomain,
                   "OS_PROJECT_DOMAIN_NAME": TestSwift.keystoneProjectDomain, "OS_IDENTITY_API_VERSION": "3"]
        if let region = TestSwift.keystoneRegion { env["OS_REGION_NAME"] = region }
        let config = try s.writeSwiftConfig(authURL: url, container: container, keys: [])
        let check = try s.dvbackup("check-config", config: config, environment: env)
        #expect(check.code == 0, "\(check.stderr)")
        #expect(check.stdout.contains("SwiftAuthVersion = 3 (not set: 3, from OS_IDENTITY_API_VERSION)"), "\(check.stdout)")
        #expect(check.stdout.contains("SwiftUser = \(TestSwift.keystoneUser) (from OS_USERNAME)"))
        #expect(check.stdout.contains("SwiftKey = *** (from OS_PASSWORD)"))
        #expect(check.stdout.contains("SwiftTenant = \(TestSwift.keystoneProject) (from OS_PROJECT_NAME)"))
        #expect(!check.stdout.contains(TestSwift.keystonePassword))
        let r = try s.dvbackup("run", config: config, environment: env)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try probe.get(container, f.relativePath) == f.bytes)
        // A file's own keys win over the environment.
        let wrong = try s.dvbackup("run", "--rerun", config: try s.writeSwiftConfig(authURL: url, container: container,
                                                                                      keys: ["SwiftKey = wrong-password-99"]),
                                   environment: env)
        #expect(wrong.code == 3, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("refused the credentials of user '\(TestSwift.keystoneUser)' (401 Unauthorized"), "\(wrong.stderr)")
        #expect(!(wrong.stderr + wrong.stdout).contains("wrong-password-99"))
    }

    @Test func aRegionWithoutSwiftIsNamedWithTheRegionsThereAre() throws {
        let url = try TestSwift.requireKeystone()
        let s = try Sandbox(seed: 233)
        _ = try s.addFile(dataset: try s.addDataset(), size: 10)
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: url, container: s.swiftContainer,
                                                                     keys: try keys(region: "Nowhere-1")))
        #expect(r.code == 3, "\(r.stderr)")
        #expect(r.stderr.contains("has no public object-store endpoint in region 'Nowhere-1' (SwiftRegion); its regions: "), "\(r.stderr)")
        #expect(try s.statusRows().isEmpty)
    }
}
