import Testing
@testable import DVBackup

/// config.ini is read as the original run_backup.py read it under Python 2.7
/// (`RawConfigParser._read`): the FIRST `;` of a value ends it when a blank stands right
/// before it; `""` is empty; a line whose first word is `rem` is a comment. Each cut is a
/// warning naming the file and line, never the text.
@Suite struct ConfigCommentRuleTests {
    private let path = "/etc/dvbackup/config.ini"

    private func read(_ value: String, dialect: INIFile.Dialect = .python2) throws -> (value: String?, warnings: [String]) {
        let ini = try INIFile(parsing: "[Database]\nPassword:\(value)\n", path: path, dialect: dialect)
        return (ini.section("Database")?.entry("Password")?.value, ini.warnings)
    }

    /// Each case was checked against Python 2.7's ConfigParser (value as written after
    /// `Password:` → what Python 2 reads).
    @Test(arguments: [
        (" x ; old", "x"),              // the example
        (" a;b ;c", "a;b ;c"),          // the first ';' has no blank before it: kept whole
        (" a ;b ;c", "a"),              // the first ';' counts
        (" x\t; tab before", "x"),      // a tab is a blank too
        (" x;y", "x;y"),
        (" x # not a comment", "x # not a comment"),
        (" x ;", "x"),
        (" \"\"", ""),                   // "" is empty
        (" \"\" ; empty", ""),
        (" \"a\"", "\"a\""),           // other quotes are kept
        (" ;x", ";x"),                  // pos 0: optval[-1] is 'x', not a blank: kept
        (" ;x ", ""),                   // pos 0: optval[-1] is the trailing blank: cut
        ("", ""),
    ])
    func python2Values(written: String, read expected: String) throws {
        #expect(try read(written).value == expected)
    }

    @Test func aCutIsAWarningNamingFileAndLineButNotTheText() throws {
        let ini = try INIFile(parsing: """
            [Database]
            Host: db ; the new server
            Password: s3cret ; old-password
            Username: a;b
            """, path: path)
        #expect(ini.section("Database")?.entry("Password")?.value == "s3cret")
        #expect(ini.warnings.count == 2)
        let w = try #require(ini.warnings.last)
        #expect(w.hasPrefix("/etc/dvbackup/config.ini:3: [Database] Password: the value ends at ' ;'"))
        #expect(!w.contains("old-password") && !w.contains("s3cret"))
        #expect(ini.warnings.first?.hasPrefix("/etc/dvbackup/config.ini:2: [Database] Host:") == true)
    }

    @Test func noWarningWithoutACut() throws {
        #expect(try read(" a;b ;c").warnings.isEmpty)
        #expect(try read(" \"\"").warnings.isEmpty)
    }

    @Test func wholeLineCommentsStayComments() throws {
        let ini = try INIFile(parsing: """
            ;Password: at column 0
            [Database]
            ; Host: a comment at column 0
            # Port: a hash comment
            \t; an indented comment (Python 2 refuses it; dvbackup reads it as a comment)
            Host: h
            rem Port = 1
            REM a comment as Python 2 has them
            Database: d
            """, path: path)
        let db = try #require(ini.section("Database"))
        #expect(db.entries.map(\.key) == ["Host", "Database"])
        #expect(ini.warnings.isEmpty)
    }

    @Test func remNeedsItsOwnWordAtColumnZero() throws {
        let ini = try INIFile(parsing: "[Backup]\nRemoteDir: /x\nremark = y\n", path: path)
        let b = try #require(ini.section("Backup"))
        #expect(b.entries.map(\.key) == ["RemoteDir", "remark"])
    }

    /// The AWS files are read as botocore reads them, with Python 3's ConfigParser: no inline
    /// comments, `""` kept, `rem` an ordinary (bad) line.
    @Test func python3DialectHasNoInlineComments() throws {
        let r = try read(" x ; old", dialect: .python3)
        #expect(r.value == "x ; old")
        #expect(r.warnings.isEmpty)
        #expect(try read(" \"\"", dialect: .python3).value == "\"\"")
    }

    /// Continued values record their lines (the settings refuse them: SettingsMultiLineTests).
    @Test func continuationLinesAreRecorded() throws {
        let ini = try INIFile(parsing: "[Database]\nUsername: dvnapp\n  Password: x\n\tmore\nHost: h\n", path: path)
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Username")?.continuationLines == [3, 4])
        #expect(db.entry("Host")?.continuationLines == [])
    }
}
