import Testing
@testable import DVBackup

/// The one helper that keeps secrets out of logs, the status database and mail.
@Suite struct RedactionTests {
    @Test(arguments: ["abcd", "s3cret-pw", String(repeating: "k", count: 200)])
    func aSecretOfAnyUsableLengthIsReplaced(secret: String) {
        #expect(Redaction.redact("before \(secret) after \(secret)", secrets: [secret]) == "before *** after ***")
    }

    @Test func emptyMissingAndVeryShortSecretsAreIgnored() {
        #expect(Redaction.redact("login failed for s3cret-pw here", secrets: ["", nil, "ab", "s3cret-pw"]) == "login failed for *** here")
        #expect(Redaction.redact("abc stays", secrets: ["abc", "", nil]) == "abc stays", "too short to redact safely")
    }

    @Test func overlappingSecretsLeaveNoPartOfEither() {
        // A token that contains the key, and two secrets that overlap in the text.
        #expect(Redaction.redact("token AUTH_tk-key123-x end", secrets: ["key123", "AUTH_tk-key123-x"]) == "token *** end")
        #expect(Redaction.redact("xx abcdef12345 yy", secrets: ["abcdef", "def12345"]) == "xx *** yy")
        #expect(Redaction.redact("aaaaaa", secrets: ["aaaa"]) == "***", "overlapping occurrences of one secret")
        #expect(Redaction.redact("k1k1k1k1 and k1k1k1k1", secrets: ["k1k1k1k1"]) == "*** and ***")
    }

    @Test func textWithoutSecretsIsUnchanged() {
        #expect(Redaction.redact("nothing to hide", secrets: ["s3cret-pw"]) == "nothing to hide")
        #expect(Redaction.redact("", secrets: ["s3cret-pw"]) == "")
    }

    @Test func urlsLoseTheirQueryFragmentAndUserInfo() {
        #expect(Redaction.url("https://u:p@host:8080/v1/AUTH_x/c/o?temp_url_sig=abc") == "https://host:8080/v1/AUTH_x/c/o")
        #expect(Redaction.url("https://bucket.s3.example.org/key?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA") == "https://bucket.s3.example.org/key")
        #expect(Redaction.url("http://127.0.0.1:5000/bucket/a%2Fb#frag") == "http://127.0.0.1:5000/bucket/a%2Fb")
        #expect(Redaction.url("http://host/path@with-at") == "http://host/path@with-at", "an @ in the path is not user info")
        #expect(Redaction.url("smtp://user:pw@mail.example.org:587") == "smtp://mail.example.org:587")
    }
}
