import Foundation
import Logging
import Synchronization

/// Writes `2026/11/21 15:21:31.769716 [INFO] message` lines to standard error (above the
/// live progress line, ``StatusLine``, when a run on a terminal shows one).
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(level: Logger.Level) { logLevel = level }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = WallClock.logTimestamp() + " [" + Self.name(event.level) + "] " + event.message.description
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if !all.isEmpty {
            line += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        // Above the live progress line, when one is shown.
        StatusLine.shared.writeAbove(line)
    }

    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .notice: "NOTICE"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }
}

/// Standard output, written in large blocks (a dry run may print millions of lines).
public final class OutputWriter: @unchecked Sendable {
    // Only used from one thread at a time (the main thread); `@unchecked` because the
    // buffer is plain mutable state.
    private var buffer: [UInt8] = []
    private let fd: Int32

    public init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    deinit { flush() }

    public func line(_ s: String = "") {
        buffer.append(contentsOf: s.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if errno == EINTR { continue }; break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The live progress line at the bottom of the terminal (stderr), and the log lines printed
/// above it: a log line first clears the live line, then the line is drawn again under it, all
/// under one lock, so that neither garbles the other. When no line is shown, a log line is
/// written as it is.
public final class StatusLine: Sendable {
    public static let shared = StatusLine()

    private let shown = Mutex<String?>(nil)
    let fd: Int32

    public init(fd: Int32 = 2) { self.fd = fd }

    /// Draws `text` in place of the current line (cut to the terminal's width).
    public func show(_ text: String) {
        let cut = Self.fit(text, columns: Self.columns(fd))
        shown.withLock {
            $0 = cut
            Self.write(fd, "\r" + cut + "\u{1B}[K")
        }
    }

    /// Removes the line, if one is shown.
    public func clear() {
        shown.withLock {
            if $0 != nil { Self.write(fd, "\r\u{1B}[K") }
            $0 = nil
        }
    }

    /// Writes a log line (ending in a newline) above the live line.
    public func writeAbove(_ line: String) {
        shown.withLock {
            if let text = $0 {
                Self.write(fd, "\r\u{1B}[K" + line + "\r" + text + "\u{1B}[K")
            } else {
                Self.write(fd, line)
            }
        }
    }

    /// `text` in at most `columns - 1` characters: the end of it is cut (`…`).
    static func fit(_ text: String, columns: Int) -> String {
        let width = max(columns - 1, 10)
        guard text.count > width else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    static func columns(_ fd: Int32) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
    }
}
