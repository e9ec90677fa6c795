import Testing
@testable import DVBackup

@Suite struct INIFileTests {
    private func parse(_ text: String) throws -> INIFile {
        try INIFile(parsing: text, path: "/etc/dvbackup/config.ini")
    }

    /// The error thrown for `text`, or nil if it parses.
    private func error(_ text: String) -> ConfigError? {
        do {
            _ = try INIFile(parsing: text, path: "/etc/dvbackup/config.ini")
            return nil
        } catch {
            return error
        }
    }

    @Test func colonAndEqualsDelimiters() throws {
        let ini = try parse("""
            [Database]
            Host: db.example.edu
            Port = 5433
            Username:dvnapp
            Database=dvndb
            """)
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Host")?.value == "db.example.edu")
        #expect(db.entry("Port")?.value == "5433")
        #expect(db.entry("Username")?.value == "dvnapp")
        #expect(db.entry("Database")?.value == "dvndb")
        #expect(db.entry("Host")?.line == 2)
        #expect(db.entry("Database")?.line == 5)
        #expect(db.entries.map(\.key) == ["Host", "Port", "Username", "Database"])
    }

    @Test func firstDelimiterEndsTheKey() throws {
        let ini = try parse("""
            [Backup]
            SwiftAuthUrl: https://keystone.example.edu:5000/v3/?a=b
            Query = x=1:y=2
            Empty =
            """)
        let b = try #require(ini.section("Backup"))
        #expect(b.entry("SwiftAuthUrl")?.value == "https://keystone.example.edu:5000/v3/?a=b")
        #expect(b.entry("Query")?.value == "x=1:y=2")
        #expect(b.entry("Empty")?.value == "")
    }

    @Test func wholeLineCommentsAlsoIndented() throws {
        let ini = try parse("""
            # leading comment
            ; another
            [Database]
              # indented hash comment
            \t; indented semicolon comment
            Host = h
            ;Host = commented-out
            #Port = 1
            """)
        let db = try #require(ini.section("Database"))
        #expect(db.entries.map(\.key) == ["Host"])
        #expect(db.entry("Host")?.value == "h")
        #expect(db.entry("Port") == nil)
    }

    /// Python 2's rule (issue 16): a `;` after a blank ends the value; `;` glued to text and
    /// `#` are part of it. The cases in detail: ConfigCommentRuleTests.
    @Test func inlineCommentsAsPython2ReadThem() throws {
        let ini = try parse("""
            [Database]
            Password = a;b#c
            Host = h ; a comment
            """)
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Password")?.value == "a;b#c")
        #expect(db.entry("Host")?.value == "h")
    }

    @Test func keysAndSectionsAreCaseInsensitive() throws {
        let ini = try parse("""
            [DataBase]
            HOST = h
            """)
        let db = try #require(ini.section("database"))
        #expect(db.name == "DataBase")
        #expect(ini.section("DATABASE") != nil)
        #expect(db.entry("host")?.value == "h")
        #expect(db.entry("Host")?.key == "HOST")
        #expect(ini.section("Backup") == nil)
    }

    @Test func indentedLineContinuesTheValue() throws {
        let ini = try parse("""
            [Notifications]
            Email = a@example.edu,
                b@example.edu
              c@example.edu
            Other = x
            """)
        let n = try #require(ini.section("Notifications"))
        #expect(n.entry("Email")?.value == "a@example.edu,\nb@example.edu\nc@example.edu")
        #expect(n.entry("Email")?.line == 2)
        #expect(n.entry("Other")?.value == "x")
    }

    @Test func blankLineEndsAContinuation() throws {
        // After a blank line an indented line is a key of its own.
        let ini = try parse("[S]\nA = 1\n\n  B = 2\n")
        let s = try #require(ini.section("S"))
        #expect(s.entry("A")?.value == "1")
        #expect(s.entry("B")?.value == "2")
    }

    @Test func crlfLineEnds() throws {
        // Swift reads "\r\n" as one Character: CRLF files must still split into lines.
        let ini = try parse("[Database]\r\nHost = h\r\nPassword = p;w\r\n\r\n[Backup]\r\nStorageType: local\r\n")
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Host")?.value == "h")
        #expect(db.entry("Password")?.value == "p;w")
        #expect(db.entry("Host")?.line == 2)
        #expect(ini.section("Backup")?.entry("StorageType")?.value == "local")
        #expect(ini.section("Backup")?.entry("StorageType")?.line == 6)
    }

    @Test func crlfFileStartingWithACommentKeepsItsSections() throws {
        let ini = try parse("# config\r\n[Backup]\r\nStorageType = local\r\n")
        #expect(ini.section("Backup")?.entry("StorageType")?.value == "local")
    }

    @Test func repeatedSectionIsMergedWithAWarning() throws {
        let ini = try parse("[Database]\nHost = h\n[Backup]\nX = 1\n[database]\nPort = 5\n")
        #expect(ini.sections.count == 2)
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Host")?.value == "h")
        #expect(db.entry("Port")?.value == "5")
        #expect(ini.warnings.count == 1)
        #expect(ini.warnings.first?.contains("config.ini:5") == true)
        #expect(ini.warnings.first?.contains("line 1") == true)
    }

    @Test func utf8ByteOrderMark() throws {
        let ini = try parse("\u{FEFF}[Database]\nHost = h\n")
        #expect(ini.section("Database")?.entry("Host")?.value == "h")
        #expect(ini.sections.first?.name == "Database")
    }

    @Test func duplicateKeyLastWinsWithAWarningNamingBothLines() throws {
        let ini = try parse("""
            [Database]
            Host = first
            Port = 5432
            host = second
            """)
        let db = try #require(ini.section("Database"))
        #expect(db.entry("Host")?.value == "second")
        #expect(db.entry("Host")?.line == 4)
        #expect(db.entries.filter { $0.key.lowercased() == "host" }.count == 1)
        #expect(ini.warnings.count == 1)
        let w = try #require(ini.warnings.first)
        #expect(w.contains("/etc/dvbackup/config.ini:4"))
        #expect(w.contains("line 2"))
        #expect(w.contains("host"))
    }

    @Test func noWarningsForACleanFile() throws {
        let ini = try parse("[A]\nx = 1\n[B]\nx = 2\n")
        #expect(ini.warnings.isEmpty)
        #expect(ini.section("A")?.entry("x")?.value == "1")
        #expect(ini.section("B")?.entry("x")?.value == "2")
    }

    @Test func keyBeforeAnySectionIsAnErrorWithItsLine() throws {
        let e = try #require(error("# comment\n\nHost = h\n[Database]\n"))
        #expect(e.line == 3)
        #expect(e.path == "/etc/dvbackup/config.ini")
        #expect(e.description.hasPrefix("/etc/dvbackup/config.ini:3: "))
    }

    @Test func lineWithoutDelimiterIsAnErrorWithItsLine() throws {
        let e = try #require(error("[Database]\nHost = h\njust some words\n"))
        #expect(e.line == 3)
        #expect(e.section == "Database")
        #expect(e.description.contains("config.ini:3"))
        #expect(e.description.contains("[Database]"))
    }

    @Test(arguments: ["[Foo", "[]", "Foo]"])
    func badSectionHeaderIsAnErrorWithItsLine(header: String) throws {
        let e = try #require(error("[Database]\nHost = h\n\n\(header)\nx = 1\n"))
        #expect(e.line == 4)
        #expect(e.description.contains("config.ini:4"))
    }

    @Test func lineWithOnlyADelimiterHasNoKey() throws {
        let e = try #require(error("[S]\n= value\n"))
        #expect(e.line == 2)
    }

    @Test func errorForAPastedSecretShowsOnlyAPreview() throws {
        let e = try #require(error("[Database]\nverylongsecretpasswordwithoutdelimiter\n"))
        #expect(!e.description.contains("verylongsecretpasswordwithoutdelimiter"))
    }
}
