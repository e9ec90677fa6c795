import CLibCrypto
import CSSHCipher
import Testing

/// The batched AES-CTR that libssh2's cipher calls are routed through must give exactly the
/// bytes OpenSSL gives for the whole stream, however the calls cut it.
@Suite struct CTRCipherTests {
    typealias CipherFactory = @Sendable () -> OpaquePointer?

    static let ctrCiphers: [(String, Int, CipherFactory)] = [
        ("aes128-ctr", 16, { EVP_aes_128_ctr() }),
        ("aes192-ctr", 24, { EVP_aes_192_ctr() }),
        ("aes256-ctr", 32, { EVP_aes_256_ctr() }),
    ]

    static func randomBytes(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// The whole buffer in one EVP_EncryptUpdate (an API the wrap does not touch).
    static func reference(_ cipher: OpaquePointer?, key: [UInt8], iv: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        #expect(EVP_EncryptInit_ex(ctx, cipher, nil, key, iv) == 1)
        var out = [UInt8](repeating: 0, count: data.count + 32)
        var n: Int32 = 0
        #expect(EVP_EncryptUpdate(ctx, &out, &n, data, Int32(data.count)) == 1)
        return Array(out[0..<Int(n)])
    }

    /// Through dv_ctr_cipher in the given pieces, `encrypt` as libssh2 passes it.
    static func batched(_ cipher: OpaquePointer?, key: [UInt8], iv: [UInt8], _ data: [UInt8], pieces: [Int], encrypt: Int32 = 1) -> [UInt8] {
        let ctx = EVP_CIPHER_CTX_new()!
        defer { dv_ctr_cipher_ctx_free(ctx) }
        #expect(dv_ctr_cipher_init(ctx, cipher, key, iv, encrypt) == 1)
        var out = [UInt8](repeating: 0, count: data.count)
        var at = 0
        var i = 0
        while at < data.count {
            let n = min(pieces[i % pieces.count], data.count - at)
            i += 1
            let rc = data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    dv_ctr_cipher(ctx, dst.baseAddress! + at, src.baseAddress! + at, UInt32(n))
                }
            }
            #expect(rc == Int32(n))
            at += n
        }
        return out
    }

    @Test(arguments: ctrCiphers.map { ($0.0, $0.1) })
    func blocksOfSixteenBytesMatchOpenSSL(name: String, keyLength: Int) {
        let cipher = Self.ctrCiphers.first { $0.0 == name }!.2()
        let key = Self.randomBytes(keyLength), iv = Self.randomBytes(16)
        // libssh2 1.10 calls once per 16-byte block; 100,000 bytes cross 12 keystream batches.
        let data = Self.randomBytes(100_000 - 100_000 % 16)
        let before = dv_ctr_batched_bytes()
        let got = Self.batched(cipher, key: key, iv: iv, data, pieces: [16])
        #expect(got == Self.reference(cipher, key: key, iv: iv, data) ? true : false)
        #expect(dv_ctr_batched_bytes() - before >= UInt64(data.count))
        // Decrypting (libssh2's other direction) gives the data back.
        #expect(Self.batched(cipher, key: key, iv: iv, got, pieces: [16], encrypt: 0) == data ? true : false)
    }

    @Test func oddPiecesAcrossBatchBoundariesMatchOpenSSL() {
        let cipher = EVP_aes_128_ctr()
        let key = Self.randomBytes(16), iv = Self.randomBytes(16)
        let data = Self.randomBytes(70_001)
        for pieces in [[1], [7, 33, 8192], [9000, 16, 5], [8191, 1, 8193], [70_001]] {
            let got = Self.batched(cipher, key: key, iv: iv, data, pieces: pieces)
            #expect(got == Self.reference(cipher, key: key, iv: iv, data) ? true : false, "pieces \(pieces)")
        }
    }

    @Test func aCounterNearItsWrapCarriesAsOpenSSLDoes() {
        let cipher = EVP_aes_256_ctr()
        let key = Self.randomBytes(32)
        let iv = [UInt8](repeating: 0xff, count: 12) + [0xff, 0xff, 0xff, 0xf0]
        let data = Self.randomBytes(20_000)
        #expect(Self.batched(cipher, key: key, iv: iv, data, pieces: [16]) == Self.reference(cipher, key: key, iv: iv, data) ? true : false)
    }

    @Test func reinitialisingAContextStartsFromTheNewKey() {
        let cipher = EVP_aes_128_ctr()
        let ctx = EVP_CIPHER_CTX_new()!
        defer { dv_ctr_cipher_ctx_free(ctx) }
        let first = Self.randomBytes(16), iv = Self.randomBytes(16)
        #expect(dv_ctr_cipher_init(ctx, cipher, first, iv, 1) == 1)
        var scratch = [UInt8](repeating: 0, count: 48)
        let zeros = [UInt8](repeating: 0, count: 48)
        #expect(dv_ctr_cipher(ctx, &scratch, zeros, 48) == 48)
        // A rekey: the same context, a new key and IV; nothing of the old keystream is used.
        let second = Self.randomBytes(16), iv2 = Self.randomBytes(16)
        #expect(dv_ctr_cipher_init(ctx, cipher, second, iv2, 1) == 1)
        let data = Self.randomBytes(4096)
        var out = [UInt8](repeating: 0, count: data.count)
        #expect(dv_ctr_cipher(ctx, &out, data, UInt32(data.count)) == Int32(data.count))
        #expect(out == Self.reference(cipher, key: second, iv: iv2, data) ? true : false)
    }

    @Test func otherCiphersPassStraightThrough() {
        // CBC (which libssh2 also offers) is not a stream: no keystream, OpenSSL's own bytes.
        let cipher = EVP_aes_128_cbc()
        let key = Self.randomBytes(16), iv = Self.randomBytes(16)
        let data = Self.randomBytes(4096)
        let ctx = EVP_CIPHER_CTX_new()!
        defer { dv_ctr_cipher_ctx_free(ctx) }
        #expect(dv_ctr_cipher_init(ctx, cipher, key, iv, 1) == 1)
        #expect(EVP_CIPHER_CTX_get_app_data(ctx) == nil)
        var out = [UInt8](repeating: 0, count: data.count)
        #expect(dv_ctr_cipher(ctx, &out, data, UInt32(data.count)) >= 0)
        let ref = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ref) }
        #expect(EVP_EncryptInit_ex(ref, cipher, nil, key, iv) == 1)
        _ = EVP_CIPHER_CTX_set_padding(ref, 0)
        var expected = [UInt8](repeating: 0, count: data.count + 16)
        var n: Int32 = 0
        #expect(EVP_EncryptUpdate(ref, &expected, &n, data, Int32(data.count)) == 1)
        #expect(out == Array(expected[0..<Int(n)]) ? true : false)
    }
}
