import Foundation
import Logging

/// Mails reports: after a run (``RunReporter``), again on request (`dvbackup report
/// --send`), or why the configuration is broken. A mail that cannot be sent is logged; it
/// never changes a file's status or the run's exit code.
public struct MorningReport {
    public let notifications: NotificationSettings
    public let logger: Logger
    /// Never to appear in what is stored, mailed or logged.
    let secrets: [String?]

    public init(notifications: NotificationSettings, logger: Logger, secrets: [String?] = []) {
        self.notifications = notifications
        self.logger = logger
        self.secrets = secrets + [notifications.password]
    }

    public init(settings: Settings, logger: Logger) {
        self.init(notifications: settings.notifications, logger: logger, secrets: [settings.database.password])
    }

    /// Mails `report` unless the settings say not to (`automatic`: after a run, where
    /// MailOn applies). Logs what happened.
    @discardableResult
    public func send(_ report: RunReport, automatic: Bool) -> MailOutcome {
        let n = notifications
        guard !n.recipients.isEmpty else {
            logger.info("no report mailed: [Notifications] Email is not set")
            return .notSent(reason: "no [Notifications] Email")
        }
        if automatic, n.mailOn == .failure, report.exitStatus == .success {
            logger.debug("no report mailed: MailOn = failure and the run succeeded")
            return .notSent(reason: "MailOn = failure and the run succeeded")
        }
        if !n.verifyCertificates {
            logger.warning("[Notifications] SmtpTLSVerify = \(NotificationSettings.insecureValue): the mail server's certificate is not verified")
        }
        let message = report.message(from: n.from, to: n.recipients).rendered()
        do {
            let reply = try SMTPClient(config: SMTPConfig(n)).send(from: n.from, to: n.recipients, message: message)
            logger.info("report mailed to \(n.recipients.joined(separator: ", ")) through \(n.serverLabel)\(reply.isEmpty ? "" : " (\(reply))")")
            return .sent(recipients: n.recipients, reply: reply)
        } catch {
            let reason = Redaction.redact(error.message, secrets: secrets)
            logger.error("cannot mail the report to \(n.recipients.joined(separator: ", ")): \(reason)")
            return .failed(recipients: n.recipients, reason: reason)
        }
    }

    func redacted(_ r: RunReport) -> RunReport {
        var r = r
        r.subject = Redaction.redact(r.subject, secrets: secrets)
        r.text = Redaction.redact(r.text, secrets: secrets)
        if let csv = r.csv {
            let text = String(decoding: csv, as: UTF8.self)
            let clean = Redaction.redact(text, secrets: secrets)
            if clean != text { r.csv = Array(clean.utf8) }
        }
        return r
    }

    /// A run whose configuration file is broken: mails why when `[Notifications]` can still
    /// be read (Email and SmtpUrl at least), otherwise does nothing (the error is logged).
    public static func configurationBroken(path: String, error: ConfigError, mode: RunMode, logger: Logger) {
        guard let text = try? Settings.readTextFile(path), let ini = try? INIFile(parsing: text, path: path),
              let section = ini.section("Notifications"),
              let n = try? NotificationSettings(section: section, path: path, lenient: true),
              !n.recipients.isEmpty else {
            logger.info("no report mailed: the recipients cannot be read from the broken configuration")
            return
        }
        let passwords = ini.section("Database")?.entry("Password").map { [$0.value] } ?? []
        let composer = ReportComposer(installation: n.installation, maxFailureLines: n.maxFailureLines, configPath: ReportComposer.absolute(path))
        let report = composer.couldNotStart(mode: mode, reason: "configuration error: \(error)", runId: nil, exit: .usage)
        let reporter = MorningReport(notifications: n, logger: logger, secrets: passwords)
        reporter.send(reporter.redacted(report), automatic: true)
    }
}
