import Testing
@testable import DVBackup

/// The [Stores] section: Dataverse's own `dataverse.files.<id>.<option>` names.
@Suite struct StoresConfigTests {
    private func config(stores: String, repository: String? = nil) -> String {
        var extra = ""
        if let repository { extra += "[Repository]\n\(repository)\n" }
        extra += "[Stores]\n\(stores)\n"
        return minimalConfig(extra: extra)
    }

    @Test func fileStoresWithCaseInsensitiveIds() throws {
        let s = try settings(config(stores: """
            dataverse.files.Local.type = file
            dataverse.files.Local.directory = /srv/dataverse/files
            dataverse.files.Local.label = Local disk
            dataverse.files.archive.type = File
            dataverse.files.ARCHIVE.directory = /mnt/archive
            """))
        let local = try #require(s.stores.store(for: "local"))
        #expect(local.id == "Local")
        #expect(local.type == "file")
        #expect(local.directory == "/srv/dataverse/files")
        #expect(local.parameters["label"] == "Local disk")
        #expect(s.stores.store(for: "LOCAL") == local)
        let archive = try #require(s.stores.store(for: "Archive"))
        #expect(archive.type == "file")
        #expect(archive.directory == "/mnt/archive")
        #expect(s.stores.stores.count == 2)
        #expect(local.origin.hasPrefix(configPath + ":"))
        // Dataverse options other than type/directory are accepted silently.
        #expect(s.warnings.isEmpty, "\(s.warnings)")
    }

    @Test func otherDataverseOptionsAreAccepted() throws {
        let s = try settings(config(stores: """
            dataverse.files.file.type = file
            dataverse.files.file.directory = /files
            dataverse.files.file.label = File
            dataverse.files.file.upload-redirect = false
            dataverse.files.file.ingestsizelimit = 1000000
            """))
        let f = try #require(s.stores.store(for: "file"))
        #expect(f.parameters["upload-redirect"] == "false")
        #expect(f.parameters["ingestsizelimit"] == "1000000")
    }

    @Test func s3StoreIsAcceptedWithItsParameters() throws {
        let s = try settings(config(stores: """
            dataverse.files.s3.type = s3
            dataverse.files.s3.bucket-name = dv-bucket
            dataverse.files.s3.custom-endpoint-url = https://s3.example.edu:9000
            dataverse.files.s3.access-key = AKIAEXAMPLE
            dataverse.files.s3.secret-key = example-secret
            """))
        let s3 = try #require(s.stores.store(for: "s3"))
        #expect(s3.type == "s3")
        #expect(s3.directory == nil)
        #expect(s3.parameters["bucket-name"] == "dv-bucket")
        #expect(s3.parameters["custom-endpoint-url"] == "https://s3.example.edu:9000")
        #expect(s3.parameters["access-key"] == "AKIAEXAMPLE")
    }

    @Test func fileStoreWithoutDirectoryIsAnError() throws {
        let text = config(stores: "dataverse.files.local.label = x\ndataverse.files.local.type = file")
        let e = try #require(configError(text))
        #expect(e.key == "dataverse.files.local.directory")
        #expect(e.line == lineNumber(of: "local.type", in: text))
        #expect(e.section == "Stores")
        #expect(e.description.contains("dataverse.files.local.directory"))
        #expect(e.description.contains("[Stores]"))
    }

    @Test func fileStoreWithRelativeDirectoryIsAnError() throws {
        let text = config(stores: "dataverse.files.local.type = file\ndataverse.files.local.directory = files")
        let e = try #require(configError(text))
        #expect(e.key == "dataverse.files.local.directory")
        #expect(e.description.contains("absolute"))
    }

    @Test func storeWithOptionsButNoTypeIsAnError() throws {
        let text = config(stores: "dataverse.files.s3.bucket-name = b\ndataverse.files.s3.label = S3")
        let e = try #require(configError(text))
        #expect(e.key == "dataverse.files.s3.type")
        #expect(e.line == lineNumber(of: "bucket-name", in: text))
        #expect(e.description.contains("dataverse.files.s3.type"))
        #expect(e.description.contains("no type"))
    }

    @Test(arguments: ["files.local.type = file", "dataverse.file.local.type = file", "StorageType = file"])
    func keyNotStartingWithDataverseFilesIsAnError(line: String) throws {
        let text = config(stores: line)
        let e = try #require(configError(text))
        #expect(e.line == lineNumber(of: line, in: text))
        #expect(e.section == "Stores")
        #expect(e.key == String(line.prefix { $0 != " " }))
        #expect(e.description.contains("dataverse.files."))
    }

    @Test func storageDriverIdChangesTheStoreOfBareNames() throws {
        let s = try settings(config(stores: """
            dataverse.files.storage-driver-id = Local
            dataverse.files.local.type = file
            dataverse.files.local.directory = /srv/local
            """, repository: "FileSystemDirectory = /srv/legacy"))
        #expect(s.stores.defaultStoreId == "Local")
        #expect(s.stores.store(for: nil)?.directory == "/srv/local")
        // FileSystemDirectory still describes the store `file`.
        #expect(s.stores.store(for: "file")?.directory == "/srv/legacy")
    }

    @Test func fileSystemDirectoryBecomesStoreFileWhenStoresDoesNotDefineIt() throws {
        let s = try settings(config(stores: "dataverse.files.s3.type = s3\ndataverse.files.s3.bucket-name = b\ndataverse.files.s3.access-key = AK\ndataverse.files.s3.secret-key = SK",
                                    repository: "FileSystemDirectory = /srv/files"))
        let file = try #require(s.stores.store(for: "file"))
        #expect(file.type == "file")
        #expect(file.directory == "/srv/files")
        #expect(file.origin == "[Repository] FileSystemDirectory")
        #expect(s.stores.store(for: nil) == file)
        #expect(s.stores.store(for: "s3")?.type == "s3")
    }

    @Test func storesWinOverFileSystemDirectory() throws {
        let s = try settings(config(stores: """
            dataverse.files.FILE.type = file
            dataverse.files.FILE.directory = /srv/from-stores
            """, repository: "FileSystemDirectory = /srv/from-repository"))
        let file = try #require(s.stores.store(for: "file"))
        #expect(file.directory == "/srv/from-stores")
        #expect(file.origin.hasPrefix(configPath))
        #expect(s.stores.stores.count == 1)
    }

    @Test func unconfiguredStoreIsNil() throws {
        let s = try settings(config(stores: "dataverse.files.local.type = file\ndataverse.files.local.directory = /x"))
        #expect(s.stores.store(for: "s3") == nil)
        // The default `file` is not configured here: bare names have no store.
        #expect(s.stores.store(for: nil) == nil)
    }

    @Test func emptyStorageDriverIdIsAnError() throws {
        let text = config(stores: "dataverse.files.storage-driver-id =")
        let e = try #require(configError(text))
        #expect(e.key == "dataverse.files.storage-driver-id")
        #expect(e.description.contains("empty"))
    }
}
