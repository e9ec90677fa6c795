import DVBackup
import Foundation
import Testing

/// A storage path that corrupts what is written (a failing disk, controller or NFS
/// server), simulated with an LD_PRELOAD shim around write(2) for dvbackup's temporary
/// files: the read-back proof must catch it, and nothing may appear under the final name.
@Suite(.enabled(if: TestPostgres.enabled))
struct VerifyTests {
    static let shimSource = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        /* Flips one bit of the first block written to any file whose name ends in
           ".dvbackup-partial". */
        ssize_t write(int fd, const void *buf, size_t count) {
            static ssize_t (*real_write)(int, const void *, size_t);
            if (!real_write) real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
            char link[64], path[4096];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, path, sizeof path - 1);
            if (n > 0 && count > 0) {
                path[n] = 0;
                size_t len = strlen(path), suffix = strlen(".dvbackup-partial");
                if (len > suffix && strcmp(path + len - suffix, ".dvbackup-partial") == 0) {
                    char *copy = malloc(count);
                    memcpy(copy, buf, count);
                    copy[0] ^= 0x01;
                    ssize_t r = real_write(fd, copy, count);
                    free(copy);
                    return r;
                }
            }
            return real_write(fd, buf, count);
        }
        """#

    func buildShim(in s: Sandbox) throws -> String {
        let source = s.root + "/corrupt_write.c"
        let library = s.root + "/corrupt_write.so"
        try Self.shimSource.write(toFile: source, atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw TestFailure("cannot compile the write(2) shim") }
        return library
    }

    @Test func corruptedCopyIsFailVerifyAndNeverPublished() throws {
        let s = try Sandbox(seed: 51)
        let ds = try s.addDataset()
        let good = try s.addFile(dataset: ds, size: 30_000, checksumType: .sha1)
        #expect(try s.dvbackup("run").code == 0)
        #expect(s.backupBytes(good) == good.bytes)
        let fresh = try s.addFile(dataset: ds, size: 40_000, checksumType: .sha256)
        // The good copy is planned again (its catalog checksum changed), and written through
        // the corrupting path, as is the new file.
        try s.catalog.query("UPDATE datafile SET checksumtype = 'MD5', checksumvalue = $2 WHERE id = $1",
                            [String(good.id), Digest.hex(.md5, of: good.bytes)])
        let shim = try buildShim(in: s)
        let result = try s.dvbackup("run", "--rerun", environment: ["LD_PRELOAD": shim])
        #expect(result.code == 1, "\(result.stdout)\n\(result.stderr)")
        let rows = try s.statusRows()
        for f in [good, fresh] {
            let row = try #require(rows[f.id])
            #expect(row.status == "FAIL_VERIFY")
            #expect(row.lastError?.contains("the copy read back has") == true, "\(row.lastError ?? "")")
        }
        #expect(s.backupBytes(fresh) == nil, "a copy that failed its proof is not published")
        #expect(s.backupBytes(good) == good.bytes, "the earlier good copy is untouched")
        #expect(!s.backupTree().contains { $0.contains(".dvbackup-partial") })
        #expect(result.stdout.contains("FAIL_VERIFY             2"))
    }
}
