import Foundation

/// The `application_name` a run's database sessions carry, `dvbackup run <mode> pid <pid> on
/// host <host>`: the session that holds the run lock says which run it is, even before
/// that run has written its row.
public struct RunApplicationName: Sendable, Equatable {
    public var mode: String
    public var pid: Int64
    public var host: String

    public init(mode: String, pid: Int64, host: String) {
        self.mode = mode
        self.pid = pid
        self.host = host
    }

    /// As PostgreSQL keeps it: printable ASCII (it shows others as '?'), at most 63 bytes
    /// (the host name is cut first).
    public var text: String {
        let full = "dvbackup run \(mode) pid \(pid) on host \(host)"
        let ascii = String(full.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" })
        return String(ascii.prefix(63))
    }

    /// Reads one back; nil for any other session's name.
    public init?(parsing name: String) {
        let parts = name.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: false)
        guard parts.count == 8, parts[0] == "dvbackup", parts[1] == "run", parts[3] == "pid",
              let pid = Int64(parts[4]), parts[5] == "on", parts[6] == "host" else { return nil }
        self.init(mode: String(parts[2]), pid: pid, host: String(parts[7]))
    }
}

extension StatusStore {
    /// Who holds the run lock, for the message of a run that cannot start: the run (its id,
    /// mode, start, host and pid), a run that has not written its row yet (from its session's
    /// application name), or a session that is no run, with what PostgreSQL knows of it.
    /// The holder is the backend that holds the advisory lock (`pg_locks`), never a guess
    /// from the runs table, and a failure to read it is said, not swallowed.
    public func lockHolderDescription() -> String {
        do {
            let r = try db.query("""
                SELECT l.pid, a.application_name, a.usename, host(a.client_addr) AS client,
                       to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') AS since
                FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
                LIMIT 1
                """, [String(Self.lockKey >> 32), String(Self.lockKey & 0xFFFF_FFFF)])
            guard r.rowCount == 1 else { return "its holder let it go a moment ago (try again)" }
            let application = try r.string(0, "application_name")
            if let application, let run = RunApplicationName(parsing: application) {
                return try describeRun(run)
            }
            var known = ["backend pid \(try r.int(0, "pid").map(String.init) ?? "?")"]
            if let application { known.append("application '\(application)'") }
            if let user = try r.string(0, "usename") { known.append("user \(user)") }
            if application != nil { known.append("from \(try r.string(0, "client") ?? "a local socket")") }
            if let since = try r.string(0, "since") { known.append("connected since \(since)") }
            return "held by a session that recorded no run (\(known.joined(separator: ", ")))"
        } catch {
            return "its holder cannot be read: \(error)"
        }
    }

    /// The run a session named `run` belongs to: its row, or what its name says.
    private func describeRun(_ run: RunApplicationName) throws(PostgresError) -> String {
        let r = try db.query("""
            SELECT id, mode, to_char(started, 'YYYY-MM-DD HH24:MI:SS TZ') AS started, host, pid FROM dvbackup_run
            WHERE state = $1 AND pid = $2::integer AND left(host, length($3)) = $3 ORDER BY id DESC LIMIT 1
            """, [RunState.running.rawValue, String(run.pid), run.host])
        guard r.rowCount == 1 else {
            let article = run.mode.first.map { "aeiou".contains($0) } == true ? "an" : "a"
            return "\(article) \(run.mode) run on host \(run.host), pid \(run.pid), that has not recorded its run yet"
        }
        func value(_ name: String) throws(PostgresError) -> String { try r.string(0, name) ?? "?" }
        return "run \(try value("id")) (\(try value("mode"))), started \(try value("started")) on host \(try value("host")), pid \(try value("pid"))"
    }
}
