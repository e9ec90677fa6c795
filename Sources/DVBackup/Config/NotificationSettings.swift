import Foundation

/// When the morning report is mailed.
public enum MailOn: String, Sendable, CaseIterable {
    /// After every run, including one that could not start.
    case always
    /// Only when the exit code is not 0 (failed files, a run that could not start).
    case failure
}

/// How a plain `smtp://` connection uses STARTTLS.
public enum StartTLSPolicy: String, Sendable, CaseIterable {
    /// The mail is not sent unless the server offers STARTTLS and the handshake succeeds.
    case required
    /// STARTTLS when the server offers it, plain otherwise (what a local MTA usually needs).
    case optional
    /// Never STARTTLS.
    case off
}

/// The `[Notifications]` section: who gets the morning report, and how it is sent.
public struct NotificationSettings: Sendable, Equatable {
    /// The original key `Email`: one or more recipients, comma-separated. Empty: no mail.
    public var recipients: [String]
    /// `smtp://host[:port]` or `smtps://host[:port]`, without a path or user.
    public var smtpURL: String
    public var startTLS: StartTLSPolicy
    public var user: String?
    /// From `SmtpPassword`, or read from the environment variable `passwordEnv` at load time.
    public var password: String?
    public var passwordEnv: String?
    public var from: String
    public var caFile: String?
    /// `false` only when the file says `SmtpTLSVerify = insecure-no-verification`.
    public var verifyCertificates: Bool
    public var mailOn: MailOn
    /// The installation's name in the subject.
    public var installation: String
    /// Failed files listed in the body; beyond that the body states the total and the full
    /// list is attached as CSV.
    public var maxFailureLines: Int
    public var timeoutSeconds: Int64

    public static let defaultURL = "smtp://localhost:25"
    public static let insecureValue = "insecure-no-verification"
    public static let keys = ["Email", "SmtpUrl", "SmtpStartTLS", "SmtpUser", "SmtpPassword", "SmtpPasswordEnv",
                              "SmtpFrom", "SmtpCAFile", "SmtpTLSVerify", "SmtpTimeout", "MailOn", "Installation",
                              "MaxFailureLines"]

    /// No section: no recipients, every other key at its default.
    public init() {
        recipients = []
        smtpURL = Self.defaultURL
        startTLS = .optional
        user = nil
        password = nil
        passwordEnv = nil
        from = "dvbackup@" + Self.defaultHostName
        caFile = nil
        verifyCertificates = true
        mailOn = .always
        installation = Self.defaultHostName
        maxFailureLines = 100
        timeoutSeconds = 60
    }

    /// The machine's name as the default installation name and From domain.
    public static var defaultHostName: String {
        let h = WallClock.hostname()
        return h.isEmpty ? "localhost" : h
    }

    /// Reads the section. Every mistake is a `ConfigError` naming the file, line and key.
    ///
    /// With `lenient` (used to report a configuration that is broken elsewhere), a key that
    /// cannot be read falls back to its default instead, except `Email` and `SmtpUrl`: the
    /// mail cannot go anywhere without them.
    public init(section: INIFile.Section?, path: String, lenient: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) {
        self.init()
        guard let s = section else { return }
        func err(_ e: INIFile.Entry, _ message: String) -> ConfigError {
            ConfigError(path: path, line: e.line, section: s.name, key: e.key, message)
        }
        /// Runs `body`; in lenient mode a failing key keeps its default.
        func read(_ body: () throws(ConfigError) -> Void) throws(ConfigError) {
            do { try body() } catch { if !lenient { throw error } }
        }

        if let e = s.entry("Email") {
            var list: [String] = []
            for part in e.value.split(separator: ",") {
                let address = part.trimmingWhitespace()
                if address.isEmpty { continue }
                guard MailAddress.isValid(address) else {
                    throw err(e, "'\(address)' is not a mail address (write them like admin@example.edu, separated by commas)")
                }
                list.append(address)
            }
            recipients = list
        }
        if let e = s.entry("SmtpUrl") {
            guard let url = SMTPURL(e.value) else {
                throw err(e, "'\(HTTPRequest.redacted(e.value))' is not an SMTP URL (write smtp://host:port or smtps://host:port)")
            }
            if let problem = url.problem { throw err(e, problem) }
            smtpURL = url.normalized
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpStartTLS") {
                guard let p = StartTLSPolicy(rawValue: e.value.lowercased()) else {
                    throw err(e, "'\(e.value)' is not required, optional or off")
                }
                startTLS = p
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpUser"), !e.value.isEmpty { user = e.value }
        }
        try read { () throws(ConfigError) in
            let pw = s.entry("SmtpPassword")
            let env = s.entry("SmtpPasswordEnv")
            if let pw, let env, !pw.value.isEmpty, !env.value.isEmpty {
                throw err(env, "set either SmtpPassword or SmtpPasswordEnv, not both")
            }
            if let pw, !pw.value.isEmpty { password = pw.value }
            if let env, !env.value.isEmpty {
                guard let value = environment[env.value], !value.isEmpty else {
                    throw err(env, "the environment variable \(env.value) is not set (it must hold the SMTP password)")
                }
                passwordEnv = env.value
                password = value
            }
            if password != nil, user == nil {
                throw err(pw ?? env!, "a password needs SmtpUser too")
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpFrom"), !e.value.isEmpty {
                guard MailAddress.isValid(e.value) else {
                    throw err(e, "'\(e.value)' is not a mail address (write it like dvbackup@example.edu)")
                }
                from = e.value
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpCAFile"), !e.value.isEmpty {
                var value = e.value
                if value.hasPrefix("~/") { value = Settings.homeDirectory + value.dropFirst() }
                guard value.hasPrefix("/") else { throw err(e, "must be an absolute path, not '\(e.value)'") }
                guard FileManager.default.isReadableFile(atPath: value) else {
                    throw err(e, "cannot read \(value) (it must be a PEM file of the CA that signed the mail server's certificate)")
                }
                caFile = value
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpTLSVerify") {
                switch e.value.lowercased() {
                case "yes", "": verifyCertificates = true
                case Self.insecureValue: verifyCertificates = false
                default:
                    throw err(e, "'\(e.value)' is not accepted: certificates are verified (yes, the default); to turn that off write SmtpTLSVerify = \(Self.insecureValue) (anyone on the network path could then read the mail and the SMTP password)")
                }
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("SmtpTimeout") {
                guard let t = DurationParser.seconds(e.value), t > 0, t <= 3600 else {
                    throw err(e, "bad duration '\(e.value)' (write it like 60s, 2m; at most 1h)")
                }
                timeoutSeconds = t
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("MailOn") {
                guard let m = MailOn(rawValue: e.value.lowercased()) else {
                    throw err(e, "'\(e.value)' is not always or failure")
                }
                mailOn = m
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("Installation"), !e.value.isEmpty {
                guard !e.value.contains(where: { $0.isNewline }) else { throw err(e, "must be one line") }
                installation = e.value
            }
        }
        try read { () throws(ConfigError) in
            if let e = s.entry("MaxFailureLines") {
                guard let n = Int(e.value), (0...1_000_000).contains(n) else {
                    throw err(e, "'\(e.value)' is not a whole number from 0 to 1000000")
                }
                maxFailureLines = n
            }
        }
    }

    /// Host and port of `smtpURL`, for messages.
    public var serverLabel: String { SMTPURL(smtpURL).map { "\($0.host):\($0.port)" } ?? smtpURL }

    /// Whether the connection is encrypted from the first byte (`smtps://`).
    public var implicitTLS: Bool { smtpURL.lowercased().hasPrefix("smtps://") }
}

/// A parsed `SmtpUrl`.
struct SMTPURL: Equatable {
    var scheme: String
    var host: String
    var port: Int
    var hasUserInfo = false
    var hasPath = false

    /// Parses `smtp://host[:port][/]` and `smtps://…`; `nil` when it is not an SMTP URL.
    init?(_ text: String) {
        let t = text.trimmingWhitespace()
        guard let sep = t.range(of: "://") else { return nil }
        scheme = t[..<sep.lowerBound].lowercased()
        guard scheme == "smtp" || scheme == "smtps" else { return nil }
        var rest = Substring(t[sep.upperBound...])
        if let slash = rest.firstIndex(of: "/") {
            hasPath = !rest[rest.index(after: slash)...].isEmpty
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            hasUserInfo = true
            rest = rest[rest.index(after: at)...]
        }
        var hostPart = rest
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            hostPart = rest[...close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: { $0 == " " || $0 == "?" || $0 == "#" }) else { return nil }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = scheme == "smtps" ? 465 : 25
        }
    }

    /// What is wrong with a URL that parsed, for the configuration error.
    var problem: String? {
        if hasUserInfo { return "must not hold a user or password: use SmtpUser and SmtpPassword (or SmtpPasswordEnv)" }
        if hasPath { return "must not have a path (dvbackup sends this host's name in EHLO itself)" }
        return nil
    }

    var normalized: String { "\(scheme)://\(host):\(port)" }
}

/// Checks on mail addresses: the plain `local@domain` form the SMTP envelope takes.
public enum MailAddress {
    public static func isValid(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at], domain = address[address.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty, address.utf8.count <= 254 else { return false }
        let forbidden: Set<Character> = [" ", "\t", "\r", "\n", "<", ">", ",", ";", "\"", "(", ")", "[", "]", "\\"]
        return !address.contains { forbidden.contains($0) || $0.asciiValue.map { $0 < 32 || $0 == 127 } == true }
            && !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }
}

extension Settings {
    /// The recipients of the morning report (`[Notifications] Email`).
    public var notificationEmails: [String] { notifications.recipients }
}

extension NotificationSettings {
    /// The section as `check-config` prints it; the password as `***`.
    public func render(into out: OutputWriter) {
        out.line("[Notifications]")
        out.line("  Email = \(recipients.isEmpty ? "(none)" : recipients.joined(separator: ", "))\(recipients.isEmpty ? " (no report is mailed)" : "")")
        out.line("  SmtpUrl = \(smtpURL)")
        out.line("  SmtpStartTLS = \(implicitTLS ? "\(startTLS.rawValue) (not used: smtps:// is TLS from the start)" : startTLS.rawValue)")
        out.line("  SmtpUser = \(user ?? "(not set: no AUTH)")")
        if let passwordEnv {
            out.line("  SmtpPasswordEnv = \(passwordEnv) (its value: ***)")
        } else {
            out.line("  SmtpPassword = \(password == nil ? "(not set)" : "***")")
        }
        out.line("  SmtpFrom = \(from)")
        out.line("  SmtpCAFile = \(caFile ?? "(not set: the system's CAs)")")
        out.line("  SmtpTLSVerify = \(verifyCertificates ? "yes" : "\(Self.insecureValue) (certificates are NOT verified)")")
        out.line("  SmtpTimeout = \(DurationParser.format(timeoutSeconds))")
        out.line("  MailOn = \(mailOn.rawValue)")
        out.line("  Installation = \(installation)")
        out.line("  MaxFailureLines = \(maxFailureLines)")
    }
}
