import DVBackup
import Foundation
import Testing

/// The PostgreSQL server the integration tests use, from the environment that
/// `scripts/test.sh` sets (DVBACKUP_TEST_PG*). With DVBACKUP_TEST_REQUIRE_SERVERS=1 (CI) a
/// missing server fails every test; it is never skipped silently.
enum TestPostgres {
    static let env = ProcessInfo.processInfo.environment
    static let host = env["DVBACKUP_TEST_PGHOST"]
    static let port = Int(env["DVBACKUP_TEST_PGPORT"] ?? "5544") ?? 5544
    static let user = env["DVBACKUP_TEST_PGUSER"] ?? "dvbackup"
    static let password = env["DVBACKUP_TEST_PGPASSWORD"] ?? "dvbackup-pw"
    static let required = env["DVBACKUP_TEST_REQUIRE_SERVERS"] == "1"

    /// Run the suites when a server is configured, and always when servers are required.
    static var enabled: Bool { host != nil || required }

    static func info(database: String) throws -> PostgresConnectionInfo {
        guard let host else {
            throw TestFailure("PostgreSQL is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_PGHOST is not set: run the tests with scripts/test.sh")
        }
        return PostgresConnectionInfo(host: host, port: port, database: database, user: user, password: password)
    }
}

/// The test sshd that `scripts/test.sh` starts (DVBACKUP_TEST_SSH_*), with its accounts:
/// a normal one, a chrooted SFTP-only one, and one whose checksum commands lie.
enum TestSSH {
    static let env = ProcessInfo.processInfo.environment
    static let host = env["DVBACKUP_TEST_SSH_HOST"]
    static let port = Int(env["DVBACKUP_TEST_SSH_PORT"] ?? "2222") ?? 2222
    static let dir = env["DVBACKUP_TEST_SSH_DIR"] ?? "/tmp/dvbackup-sshd"
    static let user = env["DVBACKUP_TEST_SSH_USER"] ?? "dvbsftp"
    static let backupDir = env["DVBACKUP_TEST_SSH_BACKUP_DIR"] ?? "/home/dvbsftp/backup"
    static let chrootUser = env["DVBACKUP_TEST_SSH_CHROOT_USER"] ?? "dvbchroot"
    static let chrootBackupDir = env["DVBACKUP_TEST_SSH_CHROOT_BACKUP_DIR"] ?? "/backup"
    static let liarUser = env["DVBACKUP_TEST_SSH_LIAR_USER"] ?? "dvbliar"
    static let liarBackupDir = env["DVBACKUP_TEST_SSH_LIAR_BACKUP_DIR"] ?? "/home/dvbliar/backup"
    static let key = env["DVBACKUP_TEST_SSH_KEY"] ?? dir + "/client_ed25519"
    static let keyWithPassphrase = env["DVBACKUP_TEST_SSH_KEY_PASS"] ?? dir + "/client_ed25519_pass"
    static let passphrase = env["DVBACKUP_TEST_SSH_KEY_PASSPHRASE"] ?? "correct horse battery"
    static let rsaKey = env["DVBACKUP_TEST_SSH_KEY_RSA"] ?? dir + "/client_rsa"
    static let knownHosts = env["DVBACKUP_TEST_SSH_KNOWN_HOSTS"] ?? dir + "/known_hosts"
    static let knownHostsHashed = env["DVBACKUP_TEST_SSH_KNOWN_HOSTS_HASHED"] ?? dir + "/known_hosts_hashed"
    static let knownHostsChanged = env["DVBACKUP_TEST_SSH_KNOWN_HOSTS_CHANGED"] ?? dir + "/known_hosts_changed"
    static let fingerprint = env["DVBACKUP_TEST_SSH_FINGERPRINT"] ?? ""
    /// Where the chroot's `/backup` is on this machine.
    static let chrootRoot = env["DVBACKUP_TEST_SSH_CHROOT"] ?? "/srv/dvbchroot"

    static var enabled: Bool { (host != nil || TestPostgres.required) && TestPostgres.enabled }

    static func requireServer() throws {
        guard host != nil else {
            throw TestFailure("the SSH server is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_SSH_HOST is not set: run the tests with scripts/test.sh")
        }
    }

    /// Stops the server and every session (SSHD_KEEP=1 keeps its keys), or starts it again.
    static func control(_ action: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Sandbox.repoRoot + "/scripts/services/\(action)-sshd.sh"]
        var e = ProcessInfo.processInfo.environment
        e["SSHD_DIR"] = dir
        e["SSHD_PORT"] = String(port)
        e["SSHD_KEEP"] = "1"
        // As scripts/test-servers.sh starts it: a stock server's refusal of SHA-1 RSA logins.
        e["SSHD_ACCEPT_SSH_RSA"] = "0"
        p.environment = e
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("\(action)-sshd.sh failed with \(p.terminationStatus)") }
    }
}

/// A free TCP port on 127.0.0.1 (for servers and relays a test starts itself).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0,
                        sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw TestFailure("no free port") }
    return Int(in_port_t(bigEndian: a.sin_port))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// What the command printed and returned.
struct CLIResult {
    let code: Int32
    let stdout: String
    let stderr: String
}

/// A file put into the test catalog.
struct TestFile {
    let id: Int64
    let storageIdentifier: String
    let name: String
    let bytes: [UInt8]
    /// Where the bytes were written in the store (`.orig` for tabular files).
    let sourcePath: String
    /// `<authority>/<identifier>/<name>` under the backup directory.
    let relativePath: String
}

/// A throwaway world for one test: a catalog database with the Dataverse 6.x schema, an
/// empty backup database, a file store and a backup directory in a temp dir.
final class Sandbox {
    let root: String
    let storeDir: String
    let backupDir: String
    let catalogName: String
    let backupName: String
    let catalog: PostgresConnection
    private(set) var collectionId: Int64 = 0
    private var clock = 0
    private var random: UInt64

    static let repoRoot: String = {
        // Tests/IntegrationTests/Sandbox.swift → the repository.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["DVBACKUP_BIN"] { return b }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("dvbackup").path
    }

    init(seed: UInt64 = 1) throws {
        random = seed &* 6364136223846793005 &+ 1442695040888963407
        var template = Array("/tmp/dvbackup-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        root = String(cString: p)
        storeDir = root + "/store"
        backupDir = root + "/backup"
        try FileManager.default.createDirectory(atPath: storeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: backupDir, withIntermediateDirectories: true)
        let tag = URL(fileURLWithPath: root).lastPathComponent.lowercased().replacingOccurrences(of: "-", with: "_")
        catalogName = "cat_" + tag
        backupName = "bak_" + tag
        let admin = try PostgresConnection(TestPostgres.info(database: "postgres"), label: "test admin")
        try admin.execute("CREATE DATABASE \(catalogName)")
        try admin.execute("CREATE DATABASE \(backupName)")
        catalog = try PostgresConnection(TestPostgres.info(database: catalogName), label: "test catalog")
        let schema = try String(contentsOfFile: Self.repoRoot + "/sql/catalog/dataverse-6.sql", encoding: .utf8)
        try catalog.execute(schema)
        collectionId = try catalog.query("""
            INSERT INTO dvobject (dtype, createdate, modificationtime) VALUES ('Dataverse', '2024-01-01', '2024-01-01') RETURNING id
            """).int(0, 0)!
        try catalog.query("INSERT INTO dataverse (id, alias, name, dataversetype) VALUES ($1, 'root', 'Root', 'UNCATEGORIZED')",
                          [String(collectionId)])
    }

    deinit {
        if let admin = try? PostgresConnection(TestPostgres.info(database: "postgres"), label: "test admin") {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(catalogName) WITH (FORCE)")
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(backupName) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(atPath: root)
        for d in remoteDirectories { try? FileManager.default.removeItem(atPath: d) }
    }

    func backupConnection() throws -> PostgresConnection {
        try PostgresConnection(TestPostgres.info(database: backupName), label: "test backup")
    }

    // MARK: configuration and the command

    /// Writes a config.ini in the original script's style; `backup` and `extra` add lines.
    @discardableResult
    func writeConfig(password: String? = TestPostgres.password, port: Int = TestPostgres.port,
                     backupLines: [String] = [], stores: [String]? = nil, name: String = "config.ini") throws -> String {
        var lines = [
            "[Database]",
            "; the Dataverse catalog and the backup database",
            "Host: \(TestPostgres.host ?? "127.0.0.1")",
            "Port: \(port)",
            "Database: \(catalogName)",
            "Username: \(TestPostgres.user)",
        ]
        if let password { lines.append("Password: \(password)") }
        lines += [
            "BackupDatabase: \(backupName)",
            "",
            "[Repository]",
            "FileSystemDirectory: \(storeDir)",
            "",
            "[Backup]",
        ] + (backupLines.contains { $0.hasPrefix("StorageType") } ? [] : [
            "StorageType: local",
            "BackupDirectory = \(backupDir)",
            "Workers = 2",
        ]) + backupLines
        if let stores { lines += ["", "[Stores]"] + stores }
        lines += ["", "[Notifications]", "Email: admin@example.edu", ""]
        let path = root + "/" + name
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A fresh directory for this test's copies on the SSH server, owned by `account`:
    /// returns (the path the server sees, the path on this machine).
    func remoteDirectory(account: String, serverRoot: String, localRoot: String) throws -> (remote: String, local: String) {
        let name = "t-" + URL(fileURLWithPath: root).lastPathComponent
        let local = localRoot + "/" + name
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        guard let pw = getpwnam(account) else { throw TestFailure("no account \(account)") }
        chown(local, pw.pointee.pw_uid, pw.pointee.pw_gid)
        remoteDirectories.append(local)
        return (serverRoot + "/" + name, local)
    }

    private var remoteDirectories: [String] = []

    /// A config.ini for StorageType ssh.
    @discardableResult
    func writeSSHConfig(user: String = TestSSH.user, backupDirectory: String, key: String = TestSSH.key,
                        knownHosts: String = TestSSH.knownHosts, extra: [String] = [], connections: Int = 2,
                        name: String = "ssh.ini") throws -> String {
        try writeConfig(backupLines: [
            "StorageType = ssh",
            "SshHost = \(TestSSH.host ?? "127.0.0.1")",
            "SshPort = \(TestSSH.port)",
            "SshUsername = \(user)",
            "BackupDirectory = \(backupDirectory)",
            "SshPrivateKey = \(key)",
            "SshKnownHosts = \(knownHosts)",
            "SshConnections = \(connections)",
        ] + extra, name: name)
    }

    /// Runs the built `dvbackup` binary.
    /// Runs `executable` with `arguments` and waits for it, its output in files of the sandbox.
    /// Spawned and waited for with posix_spawn and waitpid, not Foundation's `Process`: its
    /// `waitUntilExit` was seen to spin for ever on a child that had long exited when many
    /// tests start processes at once.
    func run(_ arguments: [String], environment: [String: String] = [:], executable: String = Sandbox.binary) throws -> CLIResult {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PGPASSWORD")
        // The S3 credential chain of a test is what the test gives it.
        for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"] {
            env.removeValue(forKey: k)
        }
        for (k, v) in environment { env[k] = v }
        let outPath = root + "/.stdout", errPath = root + "/.stderr"
        let code = try Self.spawnAndWait(executable, arguments, env.map { "\($0.key)=\($0.value)" }, stdout: outPath, stderr: errPath)
        return CLIResult(code: code,
                         stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// The exit status of `executable` (128 + the signal that ended it), stdin /dev/null,
    /// stdout and stderr into the files given (truncated), signals as a fresh process has them.
    static func spawnAndWait(_ executable: String, _ arguments: [String], _ environment: [String],
                             stdout: String, stderr: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TestFailure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TestFailure("waiting for \(executable): \(String(cString: strerror(errno)))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    func dvbackup(_ arguments: String..., config: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let cfg = try config ?? writeConfig()
        return try run(arguments + ["--config", cfg], environment: environment)
    }

    // MARK: catalog fixtures

    func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            out.append(UInt8(truncatingIfNeeded: random >> 33))
        }
        return out
    }

    /// The next timestamp of the test's clock, one second apart.
    func nextTimestamp() -> String {
        clock += 1
        let h = 10 + clock / 3600, m = (clock / 60) % 60, s = clock % 60
        return String(format: "2025-06-01 %02d:%02d:%02d.%06d", h, m, s, 123_000)
    }

    func newStorageName() -> String {
        let hex = Hex.random(randomBytes(8))
        return "19" + String(hex.prefix(9)) + "-" + String(hex.suffix(12))
    }

    @discardableResult
    func addDataset(protocol_: String = "doi", authority: String = "10.5072", identifier: String? = nil,
                    harvested: Bool = false, storageLocation: (authority: String, identifier: String)? = nil) throws -> Int64 {
        let ident = identifier ?? "FK2/" + String(Hex.random(randomBytes(3)).uppercased())
        let ts = nextTimestamp()
        let id = try catalog.query("""
            INSERT INTO dvobject (dtype, owner_id, createdate, modificationtime, protocol, authority, identifier, separator)
            VALUES ('Dataset', $1, $2, $2, $3, $4, $5, '/') RETURNING id
            """, [String(collectionId), ts, protocol_, authority, ident]).int(0, 0)!
        var harvestingClient: String? = nil
        if harvested {
            harvestingClient = try catalog.query("""
                INSERT INTO harvestingclient (name, archiveurl, harvestingurl, harvesttype, dataverse_id)
                VALUES ($1, 'https://remote.example.org', 'https://remote.example.org/oai', 'oai', $2) RETURNING id
                """, ["client\(id)", String(collectionId)]).string(0, 0)
        }
        try catalog.query("INSERT INTO dataset (id, datasettype_id, harvestingclient_id) VALUES ($1, 1, $2)",
                          [String(id), harvestingClient])
        if let loc = storageLocation {
            try catalog.query("""
                INSERT INTO alternativepersistentidentifier (dvobject_id, protocol, authority, identifier, storagelocationdesignator)
                VALUES ($1, 'doi', $2, $3, true)
                """, [String(id), loc.authority, loc.identifier])
        }
        return id
    }

    func datasetPath(_ datasetId: Int64) throws -> (authority: String, identifier: String) {
        let alt = try catalog.query("""
            SELECT authority, identifier FROM alternativepersistentidentifier WHERE dvobject_id = $1 AND storagelocationdesignator
            """, [String(datasetId)])
        if alt.rowCount > 0 { return (alt.string(0, 0)!, alt.string(0, 1)!) }
        let r = try catalog.query("SELECT authority, identifier FROM dvobject WHERE id = $1", [String(datasetId)])
        return (r.string(0, 0) ?? "", r.string(0, 1) ?? "")
    }

    /// Adds a datafile; its bytes go into the store unless `writeBytes` is false.
    /// `checksum` overrides the correct digest (e.g. '' or 'Unknown').
    @discardableResult
    func addFile(dataset: Int64, size: Int = 1000, bytes: [UInt8]? = nil, checksumType: ChecksumAlgorithm = .md5,
                 checksum: String? = nil, storageIdentifier: String? = nil, store: String = "file",
                 storeDirectory: String? = nil, createdate: String? = nil, ingestStatus: String = "A",
                 tabular: Bool = false, writeBytes: Bool = true, fileSize: Int64? = nil) throws -> TestFile {
        let data = bytes ?? randomBytes(size)
        let name = newStorageName()
        let sid = storageIdentifier ?? "\(store)://\(name)"
        let objectName = StorageIdentifier(parsing: sid).objectName(lastColonSegment: true)
        let ts = createdate ?? nextTimestamp()
        let id = try catalog.query("""
            INSERT INTO dvobject (dtype, owner_id, createdate, modificationtime, storageidentifier)
            VALUES ('DataFile', $1, $2, $2, $3) RETURNING id
            """, [String(dataset), ts, sid]).int(0, 0)!
        let digest = checksum ?? Digest.hex(checksumType, of: data)
        try catalog.query("""
            INSERT INTO datafile (id, checksumtype, checksumvalue, contenttype, filesize, ingeststatus, restricted)
            VALUES ($1, $2, $3, $4, $5, $6, false)
            """, [String(id), checksumType.rawValue, digest, tabular ? "text/tab-separated-values" : "application/octet-stream",
                  String(fileSize ?? Int64(data.count)), ingestStatus])
        let (authority, identifier) = try datasetPath(dataset)
        let dir = (storeDirectory ?? storeDir) + "/\(authority)/\(identifier)"
        var sourcePath = dir + "/" + objectName
        if tabular {
            try catalog.query("""
                INSERT INTO datatable (datafile_id, unf, originalfileformat, originalfilesize, storedwithvariableheader)
                VALUES ($1, 'UNF:6:test', 'text/csv', $2, false)
                """, [String(id), String(data.count)])
            sourcePath += ".orig"
        }
        if writeBytes {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(data).write(to: URL(fileURLWithPath: sourcePath))
            if tabular {
                try Data("tab\tseparated\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + objectName))
            }
        }
        return TestFile(id: id, storageIdentifier: sid, name: objectName, bytes: data, sourcePath: sourcePath,
                        relativePath: "\(authority)/\(identifier)/\(objectName)")
    }

    // MARK: what the user checks

    struct StatusRow {
        let status: String
        let datasetIdentifier: String?
        let datasetPID: String?
        let storageIdentifier: String?
        let checksumType: String?
        let checksumValue: String?
        let provenChecksum: String?
        let fileSize: Int64?
        let location: String?
        let lastError: String?
        let attempts: Int64
        let method: String?
        let createdate: String?
        let lastBackupTime: String?
    }

    func statusRows() throws -> [Int64: StatusRow] {
        let db = try backupConnection()
        let r = try db.query("""
            SELECT datafileid, status, datasetidentifier, datasetpid, storageidentifier, checksumtype, checksumvalue,
                   provenchecksum, filesize, location, lasterror, attempts, lastbackupmethod, createdate::text AS createdate,
                   lastbackuptime::text AS lastbackuptime
            FROM datafilestatus WHERE datafileid IS NOT NULL
            """)
        var rows: [Int64: StatusRow] = [:]
        for i in 0..<r.rowCount {
            rows[try r.int(i, "datafileid")!] = StatusRow(
                status: try r.string(i, "status") ?? "", datasetIdentifier: try r.string(i, "datasetidentifier"),
                datasetPID: try r.string(i, "datasetpid"), storageIdentifier: try r.string(i, "storageidentifier"),
                checksumType: try r.string(i, "checksumtype"), checksumValue: try r.string(i, "checksumvalue"),
                provenChecksum: try r.string(i, "provenchecksum"), fileSize: try r.int(i, "filesize"),
                location: try r.string(i, "location"), lastError: try r.string(i, "lasterror"),
                attempts: try r.int(i, "attempts") ?? 0, method: try r.string(i, "lastbackupmethod"),
                createdate: try r.string(i, "createdate"), lastBackupTime: try r.string(i, "lastbackuptime"))
        }
        return rows
    }

    func backupBytes(_ f: TestFile) -> [UInt8]? {
        FileManager.default.contents(atPath: backupDir + "/" + f.relativePath).map { [UInt8]($0) }
    }

    /// Every regular file under the backup directory, relative.
    func backupTree() -> [String] {
        guard let e = FileManager.default.enumerator(atPath: backupDir) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: backupDir + "/" + p, isDirectory: &isDir), !isDir.boolValue {
                out.append(p)
            }
        }
        return out.sorted()
    }
}

enum Hex {
    static func random(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
