import Testing
@testable import DVBackup

/// Rows read by column name, over results built in memory (no server).
struct PostgresResultTests {
    @Test func valuesAreFoundByNameWhateverTheColumnOrder() throws {
        let a = PostgresResult(columns: ["datafileid", "status", "filesize", "present", "seconds"],
                               rows: [["12", "OK", "1024", "t", "2.5"], ["13", "FAIL_READ", nil, "f", nil]])
        let b = PostgresResult(columns: ["seconds", "present", "filesize", "status", "datafileid"],
                               rows: [["2.5", "t", "1024", "OK", "12"], [nil, "f", nil, "FAIL_READ", "13"]])
        for r in [a, b] {
            #expect(r.rowCount == 2)
            #expect(try r.int(0, "datafileid") == 12)
            #expect(try r.string(0, "status") == "OK")
            #expect(try r.int(0, "filesize") == 1024)
            #expect(try r.bool(0, "present") == true)
            #expect(try r.double(0, "seconds") == 2.5)
            #expect(try r.string(1, "status") == "FAIL_READ")
            #expect(try r.int(1, "filesize") == nil)
            #expect(try r.isNull(1, "filesize"))
            #expect(try r.bool(1, "present") == false)
        }
        #expect(try a.column("status") == 1)
        #expect(try b.column("status") == 3)
    }

    @Test func anUnknownColumnIsAnErrorNamingItAndTheColumnsThere() {
        let r = PostgresResult(columns: ["id", "mode"], rows: [["1", "incremental"]])
        #expect(throws: PostgresError.self) { try r.string(0, "state") }
        do {
            _ = try r.int(0, "state")
            Issue.record("no error for a column the result does not have")
        } catch {
            #expect(error.description.contains("no column \"state\""), "\(error)")
            #expect(error.description.contains("id, mode"), "\(error)")
        }
    }

    @Test func namesAreMatchedExactlyAsTheServerSpeltThem() throws {
        let r = PostgresResult(columns: ["ok", "OK"], rows: [["1", "2"]])
        #expect(try r.int(0, "ok") == 1)
        #expect(try r.int(0, "OK") == 2)
        #expect(throws: PostgresError.self) { try r.int(0, "Ok") }
    }
}
