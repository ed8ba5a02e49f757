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

/// ``runProcess(_:_:)`` without holding a thread of Swift's small cooperative pool while the
/// program runs: `rabbitmqctl` and `scripts/broker` take seconds (an Erlang VM starts each
/// time), and test suites start clusters in parallel, so blocking waits stalled every other
/// test (process timing tests failed after ~40 s of nothing).
func runProcessAsync(_ executable: URL, _ arguments: [String]) async throws -> CommandResult {
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
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    return CommandResult(status: status,
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
