import Foundation

/// What a finished command printed and how it exited.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// Runs a program to completion, with its output captured in files.
func runProcess(_ executable: URL, _ arguments: [String]) throws -> CommandResult {
    let (process, output, errors) = try capturedProcess(executable, arguments)
    defer { removeScratch(output, errors) }
    try process.run()
    process.waitUntilExit()
    return try CommandResult(status: process.terminationStatus, standardOutput: String(contentsOf: output, encoding: .utf8),
                             standardError: String(contentsOf: errors, encoding: .utf8))
}

/// ``runProcess(_:_:)`` without holding a thread of Swift's small cooperative pool while the
/// program runs: `rabbitmqctl` and `scripts/broker` take seconds (an Erlang VM starts each
/// time), and test suites start clusters in parallel, so blocking waits stalled every other
/// test (process timing tests failed after ~40 s of nothing).
func runProcessAsync(_ executable: URL, _ arguments: [String]) async throws -> CommandResult {
    let (process, output, errors) = try capturedProcess(executable, arguments)
    defer { removeScratch(output, errors) }
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    return try CommandResult(status: status, standardOutput: String(contentsOf: output, encoding: .utf8),
                             standardError: String(contentsOf: errors, encoding: .utf8))
}

/// A process for `executable` whose output goes to two scratch files (not pipes, which a
/// background grandchild could keep open).
private func capturedProcess(_ executable: URL, _ arguments: [String]) throws -> (Process, URL, URL) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-run-\(UUID().uuidString)")
    let outputURL = scratch.appendingPathExtension("out")
    let errorURL = scratch.appendingPathExtension("err")
    guard FileManager.default.createFile(atPath: outputURL.path, contents: nil),
          FileManager.default.createFile(atPath: errorURL.path, contents: nil) else {
        throw TestSetupError("cannot create scratch files in \(FileManager.default.temporaryDirectory.path)")
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    return (process, outputURL, errorURL)
}

private func removeScratch(_ urls: URL...) {
    for url in urls { try? FileManager.default.removeItem(at: url) }
}

/// A binary this package builds (`swift build` puts them in `.build/debug`).
func builtProduct(_ name: String) throws -> URL {
    let url = TestBroker.projectRoot.appendingPathComponent(".build/debug/\(name)")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw TestSetupError("\(url.path) is missing: build the package first (scripts/test does)")
    }
    return url
}
