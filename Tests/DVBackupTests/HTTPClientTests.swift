import Foundation
import Testing
@testable import DVBackup

/// The libcurl wrapper, exercised through file:// URLs (no network): streamed upload through
/// the read callback, collected download, errors, and the redaction of URLs in messages.
@Suite struct HTTPClientTests {
    private func fileClient() throws -> HTTPClient {
        var options = HTTPOptions()
        options.protocols = "file"
        return try HTTPClient(options: options)
    }

    @Test func streamedUploadThenDownloadRoundTrips() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let client = try fileClient()
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var offset = 0
        _ = try client.perform(HTTPRequest(method: .put, url: "file://\(dir.path)/copy"), upload: { out in
            let n = min(out.count, 7_777, bytes.count - offset)
            bytes.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }, uploadLength: Int64(bytes.count))
        #expect(FileManager.default.contents(atPath: dir.join("copy")) == Data(bytes))

        let response = try client.perform(HTTPRequest(url: "file://\(dir.path)/copy"))
        #expect(response.body == bytes)
    }

    @Test func smallBodyFromMemory() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let client = try fileClient()
        _ = try client.perform(HTTPRequest(method: .put, url: "file://\(dir.path)/manifest", body: Array("[1,2,3]".utf8)))
        #expect(String(decoding: FileManager.default.contents(atPath: dir.join("manifest")) ?? Data(), as: UTF8.self) == "[1,2,3]")
    }

    @Test func aThrowingSourceStopsTheTransferWithItsError() throws {
        struct Boom: Error {}
        let dir = TempDirectory()
        defer { dir.remove() }
        let client = try fileClient()
        var calls = 0
        #expect(throws: HTTPError.self) {
            _ = try client.perform(HTTPRequest(method: .put, url: "file://\(dir.path)/broken"), upload: { _ in
                calls += 1
                if calls > 1 { throw Boom() }
                return 0x1000
            })
        }
        do {
            _ = try client.perform(HTTPRequest(method: .put, url: "file://\(dir.path)/broken2"), upload: { _ in throw Boom() })
            Issue.record("expected an error")
        } catch {
            guard case .aborted(let underlying) = error else { Issue.record("wrong error \(error)"); return }
            #expect(underlying is Boom)
        }
    }

    @Test func aMissingFileIsATransportErrorNamingIt() throws {
        let client = try fileClient()
        do {
            _ = try client.perform(HTTPRequest(url: "file:///nonexistent/dvbackup/x"))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("/nonexistent/dvbackup/x"))
            #expect(!error.isTransient)
        }
    }

    @Test func aRefusedConnectionIsTransient() throws {
        let client = try HTTPClient()
        do {
            // Port 9 (discard) on loopback: nothing listens here.
            _ = try client.perform(HTTPRequest(url: "http://127.0.0.1:9/x?X-Amz-Signature=secret"))
            Issue.record("expected an error")
        } catch {
            #expect(error.isTransient)
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func protocolsOutsideTheAllowedListAreRefused() throws {
        let client = try HTTPClient()  // http and https only
        #expect(throws: HTTPError.self) { _ = try client.perform(HTTPRequest(url: "file:///etc/hostname")) }
    }

    @Test func displayURLDropsQueryAndUserInfo() {
        // The cases are in RedactionTests; the request's URL goes through that helper.
        #expect(HTTPRequest(url: "https://u:p@host:8080/v1/AUTH_x/c/o?temp_url_sig=abc").displayURL == "https://host:8080/v1/AUTH_x/c/o")
        #expect(HTTPRequest.redacted("https://u:p@host/o?sig=abc") == "https://host/o")
    }

    @Test func methodsAreSentAsTheirNames() {
        #expect(HTTPRequest(url: "http://h/").method == .get, "GET unless told otherwise")
        #expect([HTTPMethod.get, .head, .put, .post, .delete].map(\.rawValue) == ["GET", "HEAD", "PUT", "POST", "DELETE"])
    }

    @Test func headersAreLookedUpWithoutRegardToCase() {
        let headers = HTTPHeaders([("Etag", "abc"), ("X-Trans-Id", "t1")])
        #expect(headers["ETag"] == "abc")
        #expect(headers["x-trans-id"] == "t1")
        #expect(headers["Content-Length"] == nil)
    }
}
