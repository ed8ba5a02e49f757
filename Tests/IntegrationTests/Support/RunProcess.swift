import Foundation

/// What a finished command printed and how it exited.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// Runs a program to completion, with its output captured in files (not pipes, which a
/// background grandchild could keep open).
func runProcess(_ executable: URL, _ arguments: [String]) throws -> CommandResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-run-\(UUID().uuidString)")
    let outputURL = scratch.appendingPathExtension("out")
    let errorURL = scratch.appendingPathExtension("err")
    guard FileManager.default.createFile(atPath: outputURL.path, contents: nil),
          FileManager.default.createFile(atPath: errorURL.path, contents: nil) else {
        throw TestSetupError("cannot create scratch files in \(FileManager.default.temporaryDirectory.path)")
    }
    defer {
        try? FileManager.default.removeItem(at: outputURL)
        try? FileManager.default.removeItem(at: errorURL)
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    try process.run()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         standardOutput: try String(contentsOf: outputURL, encoding: .utf8),
                         standardError: try String(contentsOf: errorURL, encoding: .utf8))
}

/// A binary this package builds (`swift build` puts them in `.build/debug`).
func builtProduct(_ name: String) throws -> URL {
    let url = TestBroker.projectRoot.appendingPathComponent(".build/debug/\(name)")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw TestSetupError("\(url.path) is missing: build the package first (scripts/test does)")
    }
    return url
}
