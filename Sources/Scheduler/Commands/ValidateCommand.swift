import ArgumentParser
import Foundation
import Shared

/// `relevo-scheduler validate DIR`: loads a config directory and reports every error with file,
/// line and column (exit 1), or a summary of what would run (exit 0).
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a directory of *.gocd.yaml files.",
        discussion: "Prints each error as FILE:LINE:COLUMN: MESSAGE and exits 1 if there is any; with --json prints the normalised model (templates and parameters expanded, secure values hidden).")

    @Argument(help: "The config directory.", completion: .directory)
    var directory: String

    @Flag(help: "Print the normalised model as JSON.")
    var json = false

    func run() throws {
        let snapshot = ConfigLoader().load(directory: URL(fileURLWithPath: directory))
        if json {
            print(try snapshot.jsonString())
        } else {
            print(snapshot.summary)
        }
        for error in snapshot.errors {
            FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        }
        if !snapshot.errors.isEmpty {
            let noun = snapshot.errors.count == 1 ? "error" : "errors"
            FileHandle.standardError.write(Data("\(snapshot.errors.count) \(noun); \(snapshot.pipelines.count) pipelines are valid\n".utf8))
            throw ExitCode(1)
        }
    }
}
