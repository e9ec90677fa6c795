// swift-tools-version:6.2
import PackageDescription

// Not MemberImportVisibility: glibc is not modular, so `struct stat` and its members are
// textually part of every C module whose header includes <sys/stat.h> (libssh2.h does), and
// with that feature a build picked CLibSSH2's copy at random ("property 'st_mode' is not
// available due to missing import of defining module 'CLibSSH2'").
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "dvbackup",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dvbackup", targets: ["dvbackup"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        // libssh2's headers only: the library itself is linked statically by CSSHCipher.
        .systemLibrary(name: "CLibSSH2", providers: [.apt(["libssh2-1-dev"]), .brew(["libssh2"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),
        // Typed wrappers around the variadic curl_easy_setopt/getinfo.
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // libssh2 1.10 encrypts one 16-byte block per OpenSSL call. It is linked statically,
        // with its three cipher calls wrapped (`ld --wrap`, which reaches only the objects of
        // this link, never libcurl's or libpq's TLS), so that AES-CTR draws its keystream in
        // 8 KiB batches: see Sources/CSSHCipher/include/CSSHCipher.h.
        .target(
            name: "CSSHCipher",
            dependencies: ["CLibCrypto"],
            linkerSettings: [
                .linkedLibrary(":libssh2.a", .when(platforms: [.linux])),
                .linkedLibrary("ssh2", .when(platforms: [.macOS])),
                .linkedLibrary("z", .when(platforms: [.linux])),
                .linkedLibrary("crypto"),
                .unsafeFlags(["-Xlinker", "--wrap=EVP_CipherInit", "-Xlinker", "--wrap=EVP_Cipher",
                              "-Xlinker", "--wrap=EVP_CIPHER_CTX_free"], .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "DVBackup",
            dependencies: [
                "CLibPQ", "CLibCrypto", "CLibSSH2", "CSSHCipher", "CCurl", "CCurlShim",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Status/sql")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "dvbackup",
            dependencies: [
                "DVBackup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            // BuildVersion.swift, from git describe (scripts/version.sh), for --version.
            plugins: ["VersionPlugin"]
        ),
        .plugin(name: "VersionPlugin", capability: .buildTool()),
        .testTarget(
            name: "DVBackupTests",
            dependencies: ["DVBackup", "CSSHCipher", "CLibCrypto"],
            path: "Tests/DVBackupTests",
            swiftSettings: strict
        ),
        // The command line's parsing, help and exit codes (no server needed): it imports the
        // executable target, and runs the built dvbackup for the usage and configuration errors.
        .testTarget(
            name: "CLITests",
            dependencies: [
                "dvbackup", "DVBackup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CLITests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["DVBackup"],
            path: "Tests/IntegrationTests",
            swiftSettings: strict
        ),
    ]
)
