/// Reads a pipeline's `materials`: git repositories and upstream pipelines.
struct MaterialParser {
    /// The pipeline's name.
    let pipeline: String
    /// Reads values with the pipeline's parameters.
    let reader: ConfigValueReader
    /// Where errors go.
    let log: ConfigIssueLog

    private enum Kind {
        case git, dependency
    }

    private static let otherKinds = ["svn", "hg", "p4", "tfs", "scm", "package", "plugin", "pluggable", "configrepo"]
    private static let otherKindKeys = ["svn", "hg", "p4", "tfs", "scm", "package", "plugin_configuration"]
    private static let gitKeys = [
        "type", "git", "url", "branch", "destination", "shallow_clone", "auto_update",
        "ignore", "includes", "blacklist", "whitelist", "invert_filter", "username", "password", "encrypted_password",
    ]
    private static let dependencyKeys = ["type", "pipeline", "stage", "ignore_for_scheduling"]

    private var place: String { "pipeline '\(pipeline)'" }

    /// The materials, in file order, with the dependency materials' positions. Accepts GoCD's
    /// mapping of name → material, and a list of materials with optional `name` keys.
    func parse(
        _ pipelineMapping: ConfigMapping
    ) -> (materials: [MaterialDefinition], dependencies: [DependencyReference]) {
        guard let entry = pipelineMapping.entry("materials"), !entry.value.isNull else {
            log.add(
                ConfigError(
                    .missingKey, at: (pipelineMapping["materials"] ?? pipelineMapping.anchor).location,
                    "\(place) has no materials (declare at least one under 'materials')"))
            return ([], [])
        }
        var items: [(name: ConfigNode?, body: ConfigNode)] = []
        if entry.value.isList {
            let list = log.capture { () throws(ConfigError) in try entry.value.list(for: "'materials' in \(place)") }
            items = (list ?? []).map { (nil, $0) }
        } else {
            let mapping = log.capture { () throws(ConfigError) in
                try entry.value.mapping(for: "'materials' in \(place)", anchor: entry.key)
            }
            items = (mapping?.entries ?? []).map { ($0.key, $0.value) }
        }
        var materials: [(material: MaterialDefinition, location: ConfigLocation)] = []
        for (index, item) in items.enumerated() {
            let parsed = log.capture { () throws(ConfigError) in
                try material(item.name, item.body, index: index + 1)
            }
            if let parsed { materials.append(parsed) }
        }
        checkNames(materials)
        checkDestinations(materials)
        let dependencies = materials.compactMap { item in
            item.material.dependency.map { DependencyReference(material: $0, location: item.location) }
        }
        return (materials.map(\.material), dependencies)
    }

    private func material(
        _ nameNode: ConfigNode?, _ body: ConfigNode, index: Int
    ) throws(ConfigError) -> (MaterialDefinition, ConfigLocation) {
        var label = "material \(index)"
        if let nameNode { label = "material '\(try nameNode.scalarText(for: "a material name"))'" }
        let what = "\(label) of \(place)"
        let mapping = try body.mapping(for: what, anchor: nameNode ?? body)
        let extraKeys = nameNode == nil ? ["name"] : []
        let explicitName: String?
        if let nameNode {
            explicitName = try ConfigValueReader(parameters: nil).name(nameNode, kind: "material name", in: place)
        } else if let node = mapping["name"], !node.isNull {
            explicitName = try ConfigValueReader(parameters: nil).name(node, kind: "material name", in: place)
        } else {
            explicitName = nil
        }
        let location = (nameNode ?? mapping.anchor).location
        switch try kind(of: mapping, what: what) {
        case .git:
            mapping.reportUnknownKeys(
                allowed: Self.gitKeys + extraKeys,
                in: what, log: log)
            return (.git(try git(mapping, name: explicitName, what: what)), location)
        case .dependency:
            mapping.reportUnknownKeys(allowed: Self.dependencyKeys + extraKeys, in: what, log: log)
            return (.dependency(try dependency(mapping, name: explicitName, what: what)), location)
        }
    }

    private func kind(of mapping: ConfigMapping, what: String) throws(ConfigError) -> Kind {
        if let typeNode = mapping["type"], !typeNode.isNull {
            let type = try reader.text(typeNode, for: "'type' in \(what)").lowercased()
            switch type {
            case "git": return .git
            case "dependency": return .dependency
            case _ where Self.otherKinds.contains(type):
                throw ConfigError(
                    .notSupported, at: typeNode.location,
                    "\(type) materials are not supported by Relevo (\(what)); use git or dependency materials")
            default:
                throw ConfigError(
                    .invalidValue, at: typeNode.location,
                    "expected 'git' or 'dependency' for 'type' in \(what), found '\(type)'")
            }
        }
        if mapping.has("git") { return .git }
        if mapping.has("pipeline") { return .dependency }
        if let other = Self.otherKindKeys.first(where: mapping.has), let entry = mapping.entry(other) {
            throw ConfigError(
                .notSupported, at: entry.key.location,
                "'\(other)' materials are not supported by Relevo (\(what)); use git or dependency materials")
        }
        throw ConfigError(
            .missingKey, at: mapping.anchor.location,
            "cannot tell the type of \(what): write 'git: URL', or 'pipeline:' and 'stage:', or 'type:'")
    }

    private func git(_ mapping: ConfigMapping, name: String?, what: String) throws(ConfigError) -> GitMaterial {
        if let second = mapping.entry("url"), mapping.has("git") {
            throw ConfigError(
                .conflictingKeys, at: second.key.location, "\(what) has both 'git' and 'url'; write the URL once")
        }
        var url = try reader.requiredString(mapping, mapping.has("git") ? "git" : "url", in: what)
        // GoCD's git credentials: kept in the URL, which is redacted wherever it is shown and
        // travels to a worker only with the job's secrets. An encrypted password is decrypted
        // by the scheduler, which holds the key.
        let username = try reader.string(mapping, "username", in: what)
        let plain = try reader.string(mapping, "password", in: what)
        let encrypted = try reader.string(mapping, "encrypted_password", in: what)
        if plain != nil, encrypted != nil, let entry = mapping.entry("encrypted_password") {
            throw ConfigError(.conflictingKeys, at: entry.key.location, "\(what) has both 'password' and 'encrypted_password'; write one")
        }
        if username != nil || plain != nil || encrypted != nil {
            let key = mapping.entry("username") ?? mapping.entry("password") ?? mapping.entry("encrypted_password")
            guard let withCredentials = GitURL.withCredentials(url, user: username ?? "", password: plain ?? encrypted ?? "") else {
                throw ConfigError(
                    .invalidValue, at: key?.key.location ?? mapping.anchor.location,
                    "\(what): 'username' and 'password' go with an http(s) URL without credentials of its own, not '\(GitURL.redacted(url))' "
                        + "(an SSH URL authenticates with the agents' keys)")
            }
            url = withCredentials
        }
        var materialName = name ?? ""
        if name == nil { materialName = try defaultGitName(url, mapping: mapping, what: what) }
        let ignore = try filter(mapping, "ignore", alias: "blacklist", what: what)
        let includes = try filter(mapping, "includes", alias: "whitelist", what: what)
        if !ignore.globs.isEmpty, !includes.globs.isEmpty, let key = includes.key {
            throw ConfigError(
                .conflictingKeys, at: key.location,
                "\(what) has both '\(ignore.name)' and '\(includes.name)'; GoCD allows only one of them")
        }
        return GitMaterial(
            name: materialName,
            url: url,
            branch: try reader.string(mapping, "branch", in: what) ?? GitMaterial.defaultBranch,
            destination: try reader.relativePath(mapping, "destination", in: what),
            shallowClone: try reader.bool(mapping, "shallow_clone", default: false, in: what),
            autoUpdate: try reader.bool(mapping, "auto_update", default: true, in: what),
            ignore: ignore.globs,
            includes: includes.globs,
            invertFilter: try reader.bool(mapping, "invert_filter", default: false, in: what))
    }

    private func defaultGitName(_ url: String, mapping: ConfigMapping, what: String) throws(ConfigError) -> String {
        let name = GitMaterial.defaultName(forURL: url)
        guard ConfigName.isValid(name) else {
            throw ConfigError(
                .invalidName, at: mapping.anchor.location,
                "\(what) needs a 'name': the name taken from its URL, '\(name)', breaks the rule (\(ConfigName.rule))")
        }
        return name
    }

    /// GoCD's `ignore`/`includes` and their older spellings `blacklist`/`whitelist`.
    private func filter(
        _ mapping: ConfigMapping, _ key: String, alias: String, what: String
    ) throws(ConfigError) -> (globs: [String], key: ConfigNode?, name: String) {
        if let second = mapping.entry(alias), mapping.has(key) {
            throw ConfigError(
                .conflictingKeys, at: second.key.location,
                "\(what) has both '\(key)' and '\(alias)' (the same list under its older name); keep '\(key)'")
        }
        let used = mapping.has(key) ? key : alias
        return (try reader.stringList(mapping, used, in: what), mapping.entry(used)?.key, used)
    }

    private func dependency(
        _ mapping: ConfigMapping, name: String?, what: String
    ) throws(ConfigError) -> DependencyMaterial {
        let upstream = try reader.requiredName(mapping, "pipeline", kind: "pipeline name", in: what)
        return DependencyMaterial(
            name: name ?? upstream,
            pipeline: upstream,
            stage: try reader.requiredName(mapping, "stage", kind: "stage name", in: what),
            ignoreForScheduling: try reader.bool(mapping, "ignore_for_scheduling", default: false, in: what))
    }

    private func checkNames(_ materials: [(material: MaterialDefinition, location: ConfigLocation)]) {
        var names: [String: ConfigLocation] = [:]
        var upstreams: [String: String] = [:]
        for (material, location) in materials {
            if let first = names[material.name.lowercased()] {
                log.add(
                    ConfigError(
                        .duplicateName, at: location,
                        "material name '\(material.name)' is used twice in \(place) (first at \(first))"))
            }
            names[material.name.lowercased()] = names[material.name.lowercased()] ?? location
            guard let dependency = material.dependency else { continue }
            if let other = upstreams[dependency.pipeline.lowercased()] {
                log.add(
                    ConfigError(
                        .duplicateName, at: location,
                        "\(place) already depends on pipeline '\(dependency.pipeline)' through material '\(other)'"))
            }
            upstreams[dependency.pipeline.lowercased()] = upstreams[dependency.pipeline.lowercased()] ?? dependency.name
        }
    }

    /// GoCD's rule: with several git materials, each needs its own `destination`, and no
    /// destination may contain another.
    private func checkDestinations(_ materials: [(material: MaterialDefinition, location: ConfigLocation)]) {
        let gits = materials.compactMap { item in item.material.git.map { ($0, item.location) } }
        guard gits.count > 1 else { return }
        var taken: [(path: String, name: String)] = []
        for (git, location) in gits {
            guard let destination = git.destination else {
                log.add(
                    ConfigError(
                        .missingKey, at: location,
                        "git material '\(git.name)' needs a 'destination': \(place) has \(gits.count) git materials, "
                            + "and each must check out into its own directory"))
                continue
            }
            let path = destination.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            if let clash = taken.first(where: {
                $0.path == path || path.hasPrefix($0.path + "/") || $0.path.hasPrefix(path + "/")
            }) {
                log.add(
                    ConfigError(
                        .conflictingKeys, at: location,
                        "destination '\(destination)' of git material '\(git.name)' overlaps that of '\(clash.name)' in \(place)"
                    ))
            }
            taken.append((path, git.name))
        }
    }
}
