import Foundation
internal import CCurl
internal import CCurlShim

/// Where and how to send mail: one SMTP server, as `[Notifications]` configures it.
public struct SMTPConfig: Sendable, Equatable {
    /// `smtp://host:port` or `smtps://host:port`, without a path.
    public var url: String
    /// The name this client gives in EHLO (libcurl takes it from the URL's path).
    public var ehloName: String
    public var startTLS: StartTLSPolicy
    public var user: String?
    public var password: String?
    public var caFile: String?
    public var verifyCertificates = true
    public var timeoutSeconds: Int64 = 60

    public init(url: String, ehloName: String = WallClock.hostname(), startTLS: StartTLSPolicy = .optional,
                user: String? = nil, password: String? = nil, caFile: String? = nil) {
        self.url = url
        self.ehloName = ehloName
        self.startTLS = startTLS
        self.user = user
        self.password = password
        self.caFile = caFile
    }

    public init(_ n: NotificationSettings) {
        self.init(url: n.smtpURL, startTLS: n.startTLS, user: n.user, password: n.password, caFile: n.caFile)
        verifyCertificates = n.verifyCertificates
        timeoutSeconds = n.timeoutSeconds
    }

    /// How TLS is used on an `smtp://` URL. `optional` means STARTTLS when the server offers
    /// it, with two exceptions: to a loopback address (the local MTA: the mail does not cross
    /// the network, and a stock Postfix offers STARTTLS with a self-signed "snakeoil"
    /// certificate that would fail verification) STARTTLS is not used unless a password is
    /// sent; and with SmtpUser to any other host, TLS is required, so that a password never
    /// goes out in the clear.
    public enum TLSUse: Sendable, Equatable { case implicit, required, ifOffered, none }

    public var tlsUse: TLSUse {
        if url.lowercased().hasPrefix("smtps://") { return .implicit }
        switch startTLS {
        case .required: return .required
        case .off: return .none
        case .optional:
            let loopback = SMTPURL(url).map { isLoopbackHost($0.host) } ?? false
            if user != nil { return loopback ? .ifOffered : .required }
            return loopback ? .none : .ifOffered
        }
    }

    /// `host:port`, for messages.
    public var serverLabel: String { SMTPURL(url).map { "\($0.host):\($0.port)" } ?? url }

    /// The URL libcurl gets: the EHLO name is its path.
    var curlURL: String {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: ".-"))
        let name = ehloName.addingPercentEncoding(withAllowedCharacters: allowed) ?? "localhost"
        return base + "/" + (name.isEmpty ? "localhost" : name)
    }
}

/// Why a mail was not sent, in words an administrator can act on. Never holds the password.
public struct SMTPError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case cannotConnect, timeout, tls, certificate, startTLSUnavailable, authentication, refused, other
    }

    public let kind: Kind
    public let message: String
    /// libcurl's CURLcode.
    public let curlCode: Int
    /// The server's reply to the command that failed (`550 5.1.1 …`), when there was one.
    public let reply: String?

    public var description: String { message }
}

/// An SMTP client on libcurl (`smtp://` with optional or required STARTTLS, `smtps://`,
/// AUTH with whatever mechanism libcurl and the server agree on).
///
/// Not `Sendable`: one libcurl easy handle, used from one thread.
public final class SMTPClient {
    public let config: SMTPConfig

    public init(config: SMTPConfig) {
        precondition(LibCurl.initialized, "curl_global_init failed")
        self.config = config
    }

    /// Sends `message` (CRLF line ends) to `recipients`. Returns the server's last reply
    /// (e.g. `250 OK queued as 1234`).
    @discardableResult
    public func send(from: String, to recipients: [String], message: [UInt8]) throws(SMTPError) -> String {
        guard let handle = curl_easy_init() else {
            throw SMTPError(kind: .other, message: "curl_easy_init failed", curlCode: Int(CURLE_FAILED_INIT.rawValue), reply: nil)
        }
        defer { curl_easy_cleanup(handle) }
        let context = SMTPTransfer(message: message)
        var rcpt: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(rcpt) }
        for r in recipients { rcpt = curl_slist_append(rcpt, "<\(r)>") }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var failed: CURLcode = CURLE_OK
        func set(_ code: CURLcode) { if failed == CURLE_OK && code != CURLE_OK { failed = code } }
        set(dv_curl_setopt_string(handle, CURLOPT_URL, config.curlURL))
        set(dv_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
        set(dv_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(dv_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, Int(min(config.timeoutSeconds, 30))))
        set(dv_curl_setopt_long(handle, CURLOPT_TIMEOUT, Int(config.timeoutSeconds)))
        let useSSL: curl_usessl
        switch config.tlsUse {
        case .implicit, .required: useSSL = CURLUSESSL_ALL
        case .ifOffered: useSSL = CURLUSESSL_TRY
        case .none: useSSL = CURLUSESSL_NONE
        }
        set(dv_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(useSSL.rawValue)))
        set(dv_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, config.verifyCertificates ? 1 : 0))
        set(dv_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, config.verifyCertificates ? 2 : 0))
        if let ca = config.caFile { set(dv_curl_setopt_string(handle, CURLOPT_CAINFO, ca)) }
        if let user = config.user {
            set(dv_curl_setopt_string(handle, CURLOPT_USERNAME, user))
            set(dv_curl_setopt_string(handle, CURLOPT_PASSWORD, config.password ?? ""))
        }
        set(dv_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(from)>"))
        set(dv_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, rcpt))
        set(dv_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
        set(dv_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count)))
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        set(dv_curl_setopt_read_function(handle, CURLOPT_READFUNCTION, smtpReadCallback))
        set(dv_curl_setopt_pointer(handle, CURLOPT_READDATA, opaque))
        // The dialogue goes to our callback (never to stderr): it keeps the server's replies
        // and our commands, AUTH lines reduced to "AUTH".
        set(dv_curl_setopt_debug_function(handle, smtpDebugCallback))
        set(dv_curl_setopt_pointer(handle, CURLOPT_DEBUGDATA, opaque))
        set(dv_curl_setopt_long(handle, CURLOPT_VERBOSE, 1))
        guard failed == CURLE_OK else {
            throw SMTPError(kind: .other, message: "cannot set up the mail transfer: \(String(cString: curl_easy_strerror(failed)))",
                            curlCode: Int(failed.rawValue), reply: nil)
        }
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            _ = dv_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            return withExtendedLifetime(context) { curl_easy_perform(handle) }
        }
        let detail = cString(errorBuffer)
        guard code == CURLE_OK else {
            throw describe(code, detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail, context)
        }
        return context.lastReply ?? ""
    }

    /// Turns a CURLcode and what the server said into an error an administrator can act on.
    func describe(_ code: CURLcode, detail: String, _ t: SMTPTransfer) -> SMTPError {
        let server = "the mail server \(config.serverLabel)"
        let reply = t.failedReply
        func error(_ kind: SMTPError.Kind, _ message: String) -> SMTPError {
            SMTPError(kind: kind, message: Redaction.redact(message, secrets: [config.password]),
                      curlCode: Int(code.rawValue), reply: reply)
        }
        switch code {
        case CURLE_COULDNT_CONNECT:
            return error(.cannotConnect, "cannot connect to \(server): \(detail)")
        case CURLE_COULDNT_RESOLVE_HOST:
            return error(.cannotConnect, "cannot connect to \(server): the host name does not resolve (\(detail))")
        case CURLE_OPERATION_TIMEDOUT:
            return error(.timeout, "\(server) did not answer in time (SmtpTimeout \(DurationParser.format(config.timeoutSeconds))): \(detail)")
        case CURLE_PEER_FAILED_VERIFICATION:
            return error(.certificate, "the TLS certificate of \(server) could not be verified: \(detail)\(config.caFile == nil ? " (if a private CA signed it, set SmtpCAFile to that CA's PEM file)" : " (against SmtpCAFile \(config.caFile!))")")
        case CURLE_SSL_CACERT_BADFILE:
            return error(.certificate, "cannot use the CA file \(config.caFile ?? "?") to verify \(server): \(detail)")
        case CURLE_SSL_CONNECT_ERROR:
            return error(.tls, "the TLS handshake with \(server) failed: \(detail)")
        case CURLE_USE_SSL_FAILED:
            return error(.startTLSUnavailable, "\(server) does not offer STARTTLS, and SmtpStartTLS is required: the mail was not sent in the clear")
        case CURLE_LOGIN_DENIED:
            return error(.authentication, "\(server) refused the login of user \(config.user ?? "?")\(reply.map { ": \($0)" } ?? " (\(detail))")")
        default:
            if let reply, let command = t.failedCommand {
                return error(.refused, "\(server) refused \(command): \(reply)")
            }
            if let reply {
                return error(.refused, "\(server) answered: \(reply)")
            }
            return error(.other, "sending to \(server) failed: \(detail) (curl error \(code.rawValue))")
        }
    }
}

/// What the C callbacks of one SMTP transfer reach through their user pointer.
final class SMTPTransfer {
    let message: [UInt8]
    var offset = 0
    /// The last command sent, as safe to show (AUTH arguments removed).
    var command: String?
    /// The server's reply lines to `command`.
    var replyLines: [String] = []
    /// The first negative reply (4xx/5xx) and the command it answered.
    var failedReply: String?
    var failedCommand: String?

    init(message: [UInt8]) { self.message = message }

    var lastReply: String? { replyLines.last }

    static let safeVerbs: Set<String> = ["EHLO", "HELO", "STARTTLS", "MAIL", "RCPT", "DATA", "QUIT", "RSET", "NOOP"]

    func sent(_ line: String) {
        let verb = line.prefix { $0 != " " }.uppercased()
        if verb == "MAIL" || verb == "RCPT", let close = line.firstIndex(of: ">") {
            command = String(line[...close])  // without ESMTP parameters (SIZE=…)
        } else {
            command = Self.safeVerbs.contains(verb) ? line : "AUTH"
        }
        replyLines = []
    }

    func received(_ line: String) {
        replyLines.append(line)
        // The last line of a reply has a space (or nothing) after the code.
        let isFinal = line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] == " "
        if isFinal, failedReply == nil, let first = line.first, first == "4" || first == "5" {
            failedReply = replyLines.joined(separator: " ")
            failedCommand = command
        }
    }
}

private func smtpReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                              _ user: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let user else { return Int(CURL_READFUNC_ABORT) }
    let t = Unmanaged<SMTPTransfer>.fromOpaque(user).takeUnretainedValue()
    let n = min(size * count, t.message.count - t.offset)
    guard n > 0 else { return 0 }
    t.message.withUnsafeBytes { raw in
        UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + t.offset, byteCount: n)
    }
    t.offset += n
    return n
}

private func smtpDebugCallback(_ handle: UnsafeMutableRawPointer?, _ type: curl_infotype, _ data: UnsafeMutablePointer<CChar>?,
                               _ size: Int, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let data, let user, type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT else { return 0 }
    let t = Unmanaged<SMTPTransfer>.fromOpaque(user).takeUnretainedValue()
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) where !line.isEmpty {
        if type == CURLINFO_HEADER_OUT { t.sent(String(line)) } else { t.received(String(line)) }
    }
    return 0
}
