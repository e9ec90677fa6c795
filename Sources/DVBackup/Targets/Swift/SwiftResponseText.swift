import Foundation

/// Swift's and Keystone's answers, shortened for a message.
enum SwiftResponseText {
    static let reasons: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        408: "Request Timeout", 409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
        413: "Request Entity Too Large", 416: "Requested Range Not Satisfiable", 422: "Unprocessable Entity",
        429: "Too Many Requests", 498: "Rate Limited", 499: "Client Disconnect", 500: "Internal Server Error",
        501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        507: "Insufficient Storage",
    ]

    /// `503 Service Unavailable`
    static func statusLine(_ status: Int) -> String {
        reasons[status].map { "\(status) \($0)" } ?? "HTTP \(status)"
    }

    /// The useful text of an error body: Keystone's JSON `error.message`, or the text of an
    /// HTML page without its tags, on one line, at most `limit` characters; secrets removed.
    static func summary(_ body: [UInt8], redacting secrets: [String] = [], limit: Int = 300) -> String {
        var text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        if let data = text.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let error = object["error"] as? [String: Any], let message = error["message"] as? String {
            text = message
        } else if text.contains("<") {
            var out = ""
            var inTag = false
            for ch in text {
                if ch == "<" { inTag = true; out.append(" "); continue }
                if ch == ">" { inTag = false; continue }
                if !inTag { out.append(ch) }
            }
            text = out
        }
        text = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).joined(separator: " ")
        text = Redaction.redact(text, secrets: secrets)
        if text.count > limit { text = String(text.prefix(limit)) + "…" }
        return text
    }
}
