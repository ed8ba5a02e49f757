import Foundation
import Hummingbird
import HTTPTypes
import Logging
import Shared

/// GoCD's config repository API (administrators): `GET`/`POST /go/api/admin/config_repos`,
/// `GET`/`DELETE /go/api/admin/config_repos/:id`. A repository's entry says which commit is
/// loaded, why the latest poll failed (if it did), and the config errors in its files.
struct ConfigRepoRoutes {
    let engine: SchedulerEngine
    let repositories: ConfigRepositories
    let logger: Logger

    struct RepoJSON: Encodable {
        struct Material: Encodable {
            struct Attributes: Encodable { let url: String; let branch: String }
            let type = "git"
            let attributes: Attributes
        }
        let id: String
        let plugin_id = "yaml.config.plugin"
        let material: Material
        /// The commit loaded, null until the first checkout.
        let revision: String?
        let checked_at: Date?
        /// Why the latest poll failed; the last good checkout stays loaded.
        let error: String?
        /// `file:line:column: message` of each error in the repository's files.
        let config_errors: [String]
        /// The pipelines it defines now.
        let pipelines: [String]

        init(_ status: ConfigRepositories.Status, config: ConfigSnapshot) {
            id = status.definition.id
            material = Material(attributes: .init(url: GitURL.redacted(status.definition.url), branch: status.definition.branch))
            revision = status.revision
            checked_at = status.checkedAt
            error = status.error
            let prefix = "\(status.definition.id):"
            config_errors = config.errors.filter { $0.file.hasPrefix(prefix) }.map(\.description)
            pipelines = config.pipelines.filter { $0.origin.file.hasPrefix(prefix) }.map(\.name).sorted()
        }
    }

    /// GoCD's create body: `{"id", "plugin_id"?, "material": {"type": "git", "attributes": {"url", "branch"?}}}`.
    struct CreateRequest: Decodable {
        struct Material: Decodable {
            struct Attributes: Decodable { let url: String; let branch: String? }
            let type: String
            let attributes: Attributes
        }
        let id: String
        let plugin_id: String?
        let material: Material
    }

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/go/api/admin/config_repos") { _, _ in
            let config = await engine.config
            let repos = await repositories.all.map { RepoJSON($0, config: config) }
            return APIRoutes.json(Embedded(key: "config_repos", items: repos, extra: [:]))
        }
        router.get("/go/api/admin/config_repos/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let status = await repositories.all.first(where: { $0.definition.id == id }) else {
                throw APIError(.notFound, "no config repository '\(id)'")
            }
            return APIRoutes.json(RepoJSON(status, config: await engine.config))
        }
        router.post("/go/api/admin/config_repos") { request, _ in
            let usage = #"expected {"id": "…", "plugin_id": "yaml.config.plugin", "material": {"type": "git", "attributes": {"url": "…", "branch": "main"}}}"#
            guard let body = try await APIRoutes.decodeBody(CreateRequest.self, from: request, allowEmpty: false) else {
                throw APIError(.badRequest, usage)
            }
            guard body.material.type == "git" else { throw APIError(.unprocessableContent, "only git config repositories are supported, not '\(body.material.type)'") }
            if let plugin = body.plugin_id, !["yaml.config.plugin", "yaml"].contains(plugin) {
                throw APIError(.unprocessableContent, "only the YAML config plugin's format (yaml.config.plugin) is read, not '\(plugin)'")
            }
            let definition = ConfigRepositories.Definition(id: body.id, url: body.material.attributes.url, branch: body.material.attributes.branch ?? "main")
            do {
                try await repositories.add(definition)
            } catch let refusal as ConfigRepositories.Refusal {
                throw APIError(refusal.code == .conflict ? .conflict : .unprocessableContent, refusal.description)
            }
            // Checked out now, not at the next poll.
            await repositories.poll(urls: [definition.url])
            guard let status = await repositories.all.first(where: { $0.definition.id == definition.id }) else {
                throw APIError(.conflict, "config repository '\(definition.id)' was removed meanwhile")
            }
            return APIRoutes.json(RepoJSON(status, config: await engine.config))
        }
        router.delete("/go/api/admin/config_repos/:id") { _, context in
            let id = try context.parameters.require("id")
            do {
                try await repositories.remove(id)
            } catch let refusal as ConfigRepositories.Refusal {
                throw APIError(.notFound, refusal.description)
            }
            return APIRoutes.json(MessageJSON(message: "config repository '\(id)' removed; its pipelines are unloaded with the next config reload"))
        }
    }
}
