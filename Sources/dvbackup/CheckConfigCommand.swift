import ArgumentParser
import DVBackup

extension DVBackupCommand {
    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate the configuration and print the effective settings (secrets shown as ***).")

        @OptionGroup var options: CommonOptions

        func run() throws {
            let (settings, logger) = try options.loadSettings(readsStores: true)
            let out = OutputWriter()
            EffectiveSettings(settings).render(into: out)
            // Each S3 store's bucket, reached with its credentials; nothing is copied.
            var unreachable = 0
            for store in settings.stores.sortedStores {
                guard let s3 = settings.s3Stores[store.id.lowercased()] else { continue }
                let reader = S3Store(config: store, settings: s3, logger: logger)
                if let why = reader.probeBucket() {
                    unreachable += 1
                    out.line("S3 store \(store.id): bucket \(s3.bucket) cannot be reached: \(why)")
                } else {
                    out.line("S3 store \(store.id): bucket \(s3.bucket) reachable with its credentials")
                }
            }
            out.flush()
            if unreachable > 0 { throw ExitCode(ExitStatus.cannotStart.rawValue) }
        }
    }
}
