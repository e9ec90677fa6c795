import Foundation

/// The morning report of one run: the mail's subject and text, and the full failure list
/// as CSV when the text had to cut it.
public struct RunReport: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var csv: [UInt8]?
    public var runId: Int64?
    public var exitStatus: ExitStatus

    public init(subject: String, text: String, csv: [UInt8]? = nil, runId: Int64?, exitStatus: ExitStatus) {
        self.subject = subject
        self.text = text
        self.csv = csv
        self.runId = runId
        self.exitStatus = exitStatus
    }

    /// The attachment's file name.
    public var csvFilename: String { "dvbackup-failures-run-\(runId.map(String.init) ?? "none").csv" }

    /// The mail that carries this report.
    public func message(from: String, to: [String], date: Date = Date()) -> MailMessage {
        MailMessage(from: from, to: to, subject: subject, text: text,
                    attachments: csv.map { [MailMessage.Attachment(filename: csvFilename, contentType: "text/csv; charset=utf-8", bytes: $0)] } ?? [],
                    date: date)
    }
}
