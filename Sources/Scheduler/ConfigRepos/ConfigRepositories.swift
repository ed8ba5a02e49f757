import Foundation
import Logging
import Shared

/// GoCD's config repositories: pipelines as code, `*.gocd.yaml` files in git repositories that
/// the scheduler polls (and refreshes on a push webhook) like materials. Each repository is
/// checked out at its newest commit under `<data>/config-repos/<id>`, and the config reloader
/// loads those checkouts beside the local config directory, with the same per-file and
/// per-pipeline isolation: a push that breaks a pipeline keeps its last good definition running
/// and shows the error with file, line and column. The list of repositories is kept in
/// `<data>/config-repos.json`.
actor ConfigRepositories {
    /// One repository, as GoCD's API writes it (`material.attributes.url`, `branch`).
    struct Definition: Sendable, Equatable, Codable {
        var id: String
        var url: String
        var branch: String
    }

    /// What became of a repository's latest poll.
    struct Status: Sendable, Equatable {
        var definition: Definition
        /// The commit checked out, once one was.
        var revision: String?
        var checkedAt: Date?
        /// Why the latest poll or checkout failed, if it did (the last good checkout stays).
        var error: String?
    }

    private let file: URL
    private let checkouts: URL
    private let git: GitClient
    private let logger: Logger
    private var statuses: [String: Status] = [:]

    init(dataDirectory: String, git: GitClient, logger: Logger) {
        let data = URL(fileURLWithPath: dataDirectory)
        file = data.appendingPathComponent("config-repos.json")
        checkouts = data.appendingPathComponent("config-repos")
        self.git = git
        self.logger = logger
        let saved = (try? Data(contentsOf: file)).flatMap { try? JSONDecoder().decode([Definition].self, from: $0) } ?? []
        for definition in saved {
            let folder = checkouts.appendingPathComponent(definition.id)
            let revision = try? String(contentsOf: folder.appendingPathComponent(".relevo-revision"), encoding: .utf8)
            statuses[definition.id] = Status(definition: definition, revision: revision)
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        enum Code: Sendable { case invalid, conflict, notFound }
        let code: Code
        let description: String
    }

    /// Every repository, by id.
    var all: [Status] { statuses.values.sorted { $0.definition.id < $1.definition.id } }

    func add(_ definition: Definition) throws(Refusal) {
        guard ConfigName.isValid(definition.id) else {
            throw Refusal(code: .invalid, description: "'\(definition.id)' is not a valid id (letters, digits, '-', '_', '.')")
        }
        guard !definition.url.isEmpty, !definition.branch.isEmpty else {
            throw Refusal(code: .invalid, description: "a config repository needs a git url and a branch")
        }
        guard statuses[definition.id] == nil else { throw Refusal(code: .conflict, description: "config repository '\(definition.id)' exists already") }
        statuses[definition.id] = Status(definition: definition)
        save()
        logger.info("config repository added", metadata: ["id": "\(definition.id)", "url": "\(GitURL.redacted(definition.url))"])
    }

    func remove(_ id: String) throws(Refusal) {
        guard statuses.removeValue(forKey: id) != nil else { throw Refusal(code: .notFound, description: "no config repository '\(id)'") }
        try? FileManager.default.removeItem(at: checkouts.appendingPathComponent(id))
        save()
        logger.info("config repository removed; its pipelines go with it", metadata: ["id": "\(id)"])
    }

    /// The checkouts to load, one source each.
    var sources: [ConfigLoader.Source] {
        all.filter { $0.revision != nil }.map { ConfigLoader.Source(name: $0.definition.id, directory: checkouts.appendingPathComponent($0.definition.id)) }
    }

    /// Polls every repository (or those whose URL is in `urls`: a push), checking out the ones
    /// that moved. Returns the ids updated.
    @discardableResult
    func poll(urls: [String]? = nil) async -> [String] {
        let pushed = urls.map { Set($0.map(GitURL.comparable)) }
        var updated: [String] = []
        for status in all where pushed?.contains(GitURL.comparable(status.definition.url)) ?? true {
            let definition = status.definition
            do {
                let latest = try await git.latestRevision(url: definition.url, branch: definition.branch)
                statuses[definition.id]?.checkedAt = Date()
                guard latest != status.revision else {
                    statuses[definition.id]?.error = nil
                    continue
                }
                // A fresh folder beside the old one, swapped in once complete.
                let folder = checkouts.appendingPathComponent(definition.id)
                let incoming = checkouts.appendingPathComponent(".incoming-\(definition.id)")
                try? FileManager.default.removeItem(at: incoming)
                try FileManager.default.createDirectory(at: checkouts, withIntermediateDirectories: true)
                try await git.checkout(url: definition.url, revision: latest, into: incoming.path)
                try Data(latest.utf8).write(to: incoming.appendingPathComponent(".relevo-revision"))
                try? FileManager.default.removeItem(at: folder)
                try FileManager.default.moveItem(at: incoming, to: folder)
                // Removed meanwhile: nothing is kept.
                guard statuses[definition.id] != nil else {
                    try? FileManager.default.removeItem(at: folder)
                    continue
                }
                statuses[definition.id]?.revision = latest
                statuses[definition.id]?.error = nil
                updated.append(definition.id)
                logger.info("config repository updated", metadata: ["id": "\(definition.id)", "revision": "\(latest.prefix(12))"])
            } catch {
                let reason = GitURL.redacted("\(error)")
                if statuses[definition.id]?.error != reason {
                    logger.warning("config repository poll failed; its last good checkout stays", metadata: ["id": "\(definition.id)", "error": "\(reason)"])
                }
                statuses[definition.id]?.error = reason
            }
        }
        return updated
    }

    private func save() {
        let definitions = all.map(\.definition)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(definitions).write(to: file, options: .atomic)
            chmod(file.path, 0o600)
        } catch {
            logger.error("config repositories not saved; they last until the scheduler stops", metadata: ["error": "\(error)"])
        }
    }
}
