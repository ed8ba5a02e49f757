import Foundation

/// Runs one git command through a ``ProcessLauncher`` with an environment that never prompts
/// and never reads the user's or the system's configuration, and collects its output.
struct GitCommand: Sendable {
    /// What a git command printed and how it ended.
    struct Output: Sendable {
        var status: ProcessExitStatus
        var stdout: String
        var stderr: String

        /// The last lines of stderr, for error messages.
        var reason: String {
            let lines = stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let meaningful = lines.filter { !$0.isEmpty && !$0.hasPrefix("hint:") }
            let text = meaningful.suffix(3).joined(separator: " / ")
            return text.isEmpty ? "git ended with \(status)" : GitURL.redacted(text)
        }
    }

    /// Options given to every command: allow local clones from the mirror, keep output quiet and
    /// stable, keep git from starting background work that would outlive the command, and run
    /// nothing a repository's own files name.
    static let configuration = [
        "protocol.file.allow=always",
        "uploadpack.allowAnySHA1InWant=true",
        "advice.detachedHead=false",
        "init.defaultBranch=master",
        "gc.autoDetach=false",
        "maintenance.auto=false",
        "credential.interactive=false",
        // No hook and no file-system monitor command ever runs: a job's tree is reused by later
        // jobs, and a job could have planted either in its `.git`.
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
    ]

    let runner: any ProcessLauncher
    let environment: [String: String]
    let timeout: Duration

    /// The environment git runs with: the caller's (PATH, proxies, SSH agent…) with every source
    /// of prompts and outside configuration turned off.
    static func environment(base: [String: String], home: String) -> [String: String] {
        var environment = base
        environment["HOME"] = home
        environment["XDG_CONFIG_HOME"] = home + "/.config"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_ASKPASS"] = "/bin/false"
        environment["SSH_ASKPASS"] = "/bin/false"
        environment["GIT_SSH_COMMAND"] = base["GIT_SSH_COMMAND"] ?? "ssh -o BatchMode=yes"
        environment["LC_ALL"] = "C"
        environment["LANGUAGE"] = nil
        environment["GIT_DIR"] = nil
        environment["GIT_WORK_TREE"] = nil
        return environment
    }

    /// Runs `git <arguments>` in `directory`.
    ///
    /// - Throws: ``GitError`` `gitUnavailable`, `timedOut` or `cancelled`; a non-zero exit is
    ///   returned in the output for the caller to classify.
    func run(_ arguments: [String], in directory: String, operation: String) async throws(GitError) -> Output {
        let spec = ProcessSpec(
            executable: "git",
            arguments: Self.configuration.flatMap { ["-c", $0] } + arguments,
            environment: environment,
            workingDirectory: directory)
        let process: any LaunchedProcess
        do {
            process = try runner.start(spec)
        } catch {
            throw GitError(.gitUnavailable, operation: operation, message: error.message)
        }
        // Unstructured, so that it drains the pipes even if the caller is cancelled.
        let reader = Task {
            var stdout: [UInt8] = []
            var stderr: [UInt8] = []
            for await chunk in process.output {
                if chunk.source == .stdout { stdout += chunk.bytes } else { stderr += chunk.bytes }
            }
            return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }
        guard let status = await process.waitForExit(timeout: timeout) else {
            let cancelled = Task.isCancelled
            await process.terminate(grace: .seconds(2))
            _ = await reader.value
            if cancelled {
                throw GitError(.cancelled, operation: operation, message: "cancelled; git was stopped")
            }
            throw GitError(.timedOut, operation: operation, message: "git took longer than \(timeout) and was stopped")
        }
        let (stdout, stderr) = await reader.value
        return Output(status: status, stdout: stdout, stderr: stderr)
    }

    /// Runs a command that must succeed; a failure becomes `code`.
    @discardableResult
    func check(
        _ arguments: [String], in directory: String, operation: String, failure code: GitError.Code = .commandFailed
    ) async throws(GitError) -> Output {
        let output = try await run(arguments, in: directory, operation: operation)
        guard output.status.isSuccess else {
            throw GitError(code, operation: operation, message: output.reason)
        }
        return output
    }
}
