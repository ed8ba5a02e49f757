import Foundation
import Shared
import Yams

/// What a token may do: viewers read, operators also trigger, approve, cancel, pause and unlock,
/// admins also manage agents.
enum APIRole: String, Sendable, Comparable, CaseIterable {
    case viewer, `operator`, admin

    static func < (left: APIRole, right: APIRole) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

/// Who made a request.
struct APIUser: Sendable, Equatable {
    var name: String
    var role: APIRole
    /// Group names matched against a stage's `approval.roles`.
    var groups: [String]

    /// Everyone, when no tokens are configured (a local server).
    static let open = APIUser(name: "anonymous", role: .admin, groups: [])
}

/// The API tokens of the server, from the file named by the `tokens_file` setting:
///
/// ```yaml
/// tokens:
///   - name: alice          # shown as the user who triggered or approved
///     role: operator       # viewer | operator | admin
///     groups: [release]    # optional, for approval.roles
///     token: "a long random string"
/// ```
///
/// Tokens are compared in constant time and never logged.
struct APITokens: Sendable {
    private let entries: [(token: String, user: APIUser)]

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(entries: [(token: String, user: APIUser)]) {
        self.entries = entries
    }

    var count: Int { entries.count }

    /// The user a presented token belongs to.
    func user(for token: String) -> APIUser? {
        var found: APIUser?
        for entry in entries where SHA256.constantTimeEquals(entry.token, token) { found = entry.user }
        return found
    }

    /// Loads the tokens file; every error names file, line and column.
    static func load(file: String) throws -> APITokens {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw Invalid(description: "cannot read the tokens file \(file): \(error.localizedDescription)")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw Invalid(description: "\(file): not valid YAML: \(error)")
        }
        func place(_ node: Node?) -> String { "\(file):\(node?.mark?.line ?? 1):\(node?.mark?.column ?? 1)" }
        guard let list = root?.mapping?["tokens"]?.sequence else {
            throw Invalid(description: "\(place(root)): expected a 'tokens:' list")
        }
        var entries: [(String, APIUser)] = []
        var names: Set<String> = []
        for item in list {
            guard let mapping = item.mapping else { throw Invalid(description: "\(place(item)): a token entry must be a mapping") }
            for key in mapping.keys where !["name", "role", "groups", "token"].contains(key.string ?? "") {
                throw Invalid(description: "\(place(key)): unknown key '\(key.string ?? "")' (expected name, role, groups, token)")
            }
            guard let name = mapping["name"]?.string, !name.isEmpty else { throw Invalid(description: "\(place(item)): 'name' is required") }
            guard names.insert(name).inserted else { throw Invalid(description: "\(place(mapping["name"])): the name '\(name)' is used twice") }
            guard let roleText = mapping["role"]?.string, let role = APIRole(rawValue: roleText) else {
                throw Invalid(description: "\(place(mapping["role"] ?? item)): 'role' must be viewer, operator or admin")
            }
            guard let token = mapping["token"]?.string, token.count >= 16 else {
                throw Invalid(description: "\(place(mapping["token"] ?? item)): 'token' must be at least 16 characters")
            }
            let groups = mapping["groups"]?.sequence?.compactMap(\.string) ?? []
            entries.append((token, APIUser(name: name, role: role, groups: groups)))
        }
        return APITokens(entries: entries)
    }
}
