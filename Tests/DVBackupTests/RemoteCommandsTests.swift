import Testing
@testable import DVBackup

/// The programs dvbackup sends to an SFTP server's shell, as text.
struct RemoteCommandsTests {
    @Test(arguments: [
        ("plain.txt", "'plain.txt'"),
        ("with space.txt", "'with space.txt'"),
        ("it's", "'it'\\''s'"),
        ("$HOME `id` $(id)", "'$HOME `id` $(id)'"),
        ("line\nbreak", "'line\nbreak'"),
        ("\"double\"", "'\"double\"'"),
        ("", "''"),
    ])
    func quotingLeavesNothingForTheShellToExpand(name: String, quoted: String) {
        #expect(RemoteCommands.quote(name) == quoted)
    }

    @Test func theProofScriptFlushesAllAndHashesEachAlgorithmOnce() {
        let script = RemoteCommands.proveAndFlush(
            flush: ["/b/a b", "/b/it's", "/b/$x"],
            hash: [.sha256: ["/b/$x"], .md5: ["/b/a b", "/b/it's"], .sha1: []])
        #expect(script == """
            ( sync -- '/b/a b' '/b/it'\\''s' '/b/$x' || echo dvbackup-sync-failed ) &
            md5sum -- '/b/a b' '/b/it'\\''s'
            sha256sum -- '/b/$x'
            wait

            """)
        #expect(RemoteCommands.flushFailed("abc  x\ndvbackup-sync-failed\n"))
        #expect(!RemoteCommands.flushFailed("abc  x\n"))
    }

    @Test func theReplaceScriptMovesEachCopyAndNamesItsFailures() {
        let script = RemoteCommands.replace([(index: 0, from: "/d/.a.dvbackup-partial", to: "/d/a"),
                                             (index: 11, from: "/d/.new\nline.dvbackup-partial", to: "/d/new\nline")])
        #expect(script == """
            mv -f -- '/d/.a.dvbackup-partial' '/d/a' || echo "failed 0"
            mv -f -- '/d/.new
            line.dvbackup-partial' '/d/new
            line' || echo "failed 11"

            """)
        #expect(RemoteCommands.replaceFailed("failed 11\n", index: 11))
        #expect(!RemoteCommands.replaceFailed("failed 11\n", index: 1))
    }

    @Test func theHashWhileWritingProgramTakesThePathAsItsArgument() {
        let command = RemoteCommands.hashWhileWriting(path: "/d/.it's $1.dvbackup-partial", blockSize: 2_097_152, algorithm: .sha512)
        let script = """
            f=$1; d=0; s=
            { while read k; do
                if [ "$k" -gt "$d" ]; then
                  dd if="$f" bs=2097152 skip=$d count=$((k - d)) 2>/dev/null || exit 1; d=$k
                  if [ -z "$s" ] || ! kill -0 "$s" 2>/dev/null; then sync -d -- "$f" >/dev/null 2>&1 & s=$!; fi
                fi
              done; } | sha512sum
            """
        #expect(command == "sh -c " + RemoteCommands.quote(script) + " sh '/d/.it'\\''s $1.dvbackup-partial'")
    }

    @Test func theExecProbeNeedsTheEchoBack() {
        #expect(RemoteCommands.execProbe == "echo dvbackup-exec-probe")
        #expect(RemoteCommands.answersExecProbe(status: 0, stdout: "dvbackup-exec-probe\n"))
        #expect(!RemoteCommands.answersExecProbe(status: 0, stdout: "This service allows sftp connections only.\n"))
        #expect(!RemoteCommands.answersExecProbe(status: 1, stdout: "dvbackup-exec-probe\n"))
        #expect(RemoteCommands.scriptRunner == "sh -s")
    }

    @Test func checksumOutputIsReadBackWithEscapedNames() {
        let parsed = RemoteChecksumOutput.parse("""
            d41d8cd98f00b204e9800998ecf8427e  /d/a b
            \\d41d8cd98f00b204e9800998ecf8427f  /d/new\\nline
            not a checksum line

            """)
        #expect(parsed == ["/d/a b": "d41d8cd98f00b204e9800998ecf8427e", "/d/new\nline": "d41d8cd98f00b204e9800998ecf8427f"])
    }
}
