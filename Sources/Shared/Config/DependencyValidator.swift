/// Checks what ties pipelines together: dependency materials must name a loaded pipeline and one
/// of its stages, fetch tasks must name an ancestor (or an earlier stage) and an existing job,
/// and dependencies must not form a cycle. A pipeline that fails is dropped, which can break
/// its downstreams in turn, so the checks run until nothing changes.
struct DependencyValidator {
    /// Every declared pipeline name, loaded or not, by its lowercased form.
    let declared: [String: String]

    /// The pipelines that pass, with the names they refer to spelled as declared.
    func validate(_ candidates: [ParsedPipeline], log: ConfigIssueLog) -> [ParsedPipeline] {
        var accepted = candidates
        while true {
            let byName = index(accepted)
            var rejected: Set<String> = []
            for pipeline in accepted {
                let errors = problems(of: pipeline, byName: byName)
                guard !errors.isEmpty else { continue }
                rejected.insert(pipeline.definition.name.lowercased())
                log.add(contentsOf: errors)
            }
            if rejected.isEmpty {
                let cycleErrors = cycles(accepted, byName: byName)
                if cycleErrors.isEmpty { break }
                for error in cycleErrors {
                    rejected.insert((error.pipeline ?? "").lowercased())
                    log.add(error)
                }
            }
            accepted.removeAll { rejected.contains($0.definition.name.lowercased()) }
        }
        let byName = index(accepted)
        return accepted.map { canonical($0, byName: byName) }
    }

    private func index(_ pipelines: [ParsedPipeline]) -> [String: ParsedPipeline] {
        Dictionary(pipelines.map { ($0.definition.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func missing(_ name: String, from what: String) -> String {
        if let declaredName = declared[name.lowercased()] {
            return "\(what) refers to pipeline '\(declaredName)', which did not load (see its errors)"
        }
        return "\(what) refers to pipeline '\(name)', which is not defined"
    }

    private func problems(of pipeline: ParsedPipeline, byName: [String: ParsedPipeline]) -> [ConfigError] {
        let name = pipeline.definition.name
        var errors: [ConfigError] = []
        for dependency in pipeline.dependencies {
            let material = dependency.material
            let what = "dependency material '\(material.name)' of pipeline '\(name)'"
            guard let upstream = byName[material.pipeline.lowercased()]?.definition else {
                errors.append(
                    ConfigError(
                        .unknownUpstream, at: dependency.location, missing(material.pipeline, from: what),
                        pipeline: name))
                continue
            }
            if upstream.stage(named: material.stage) == nil {
                errors.append(
                    ConfigError(
                        .unknownUpstream, at: dependency.location,
                        "\(what) refers to stage '\(material.stage)' of pipeline '\(upstream.name)', which has no such stage "
                            + "(stages: \(upstream.stages.map(\.name).joined(separator: ", ")))",
                        pipeline: name))
            }
        }
        for fetch in pipeline.fetches {
            if let message = problem(of: fetch, in: pipeline, byName: byName) {
                errors.append(ConfigError(.unknownUpstream, at: fetch.location, message, pipeline: name))
            }
        }
        return errors
    }

    /// `grandparent/parent` (or `…/self`) as a list from the publishing pipeline down to the direct upstream.
    private func ancestry(_ task: FetchTask, of pipeline: String) -> [String] {
        var path = task.pipelinePath
        if path.last?.lowercased() == pipeline.lowercased() { path.removeLast() }
        return path
    }

    private func problem(
        of fetch: FetchReference, in pipeline: ParsedPipeline, byName: [String: ParsedPipeline]
    ) -> String? {
        let definition = pipeline.definition
        let stage = definition.stages[fetch.stageIndex]
        let job = stage.jobs[fetch.jobIndex]
        let what = "fetch task \(fetch.taskIndex + 1) of job '\(definition.name)/\(stage.name)/\(job.name)'"
        let task = fetch.task
        let path = ancestry(task, of: definition.name)
        let source: PipelineDefinition
        if path.isEmpty {
            source = definition
            guard let index = definition.stages.firstIndex(where: { $0.name.lowercased() == task.stage.lowercased() })
            else {
                return "\(what) fetches from stage '\(task.stage)', which pipeline '\(definition.name)' does not have"
            }
            guard index < fetch.stageIndex else {
                return "\(what) fetches from stage '\(task.stage)' of its own pipeline, which does not run before "
                    + "stage '\(stage.name)'; fetch from an earlier stage"
            }
        } else {
            for name in path where byName[name.lowercased()] == nil {
                return missing(name, from: what)
            }
            let hops = [definition.name] + path.reversed()
            for (downstream, upstream) in zip(hops, hops.dropFirst()) {
                let dependsOn =
                    byName[downstream.lowercased()]?.dependencies.contains {
                        $0.material.pipeline.lowercased() == upstream.lowercased()
                    } ?? false
                guard dependsOn else {
                    return "\(what) fetches through '\(task.pipeline ?? "")', but pipeline '\(downstream)' has no "
                        + "dependency material on '\(upstream)'"
                }
            }
            guard let publisher = byName[path[0].lowercased()]?.definition else { return missing(path[0], from: what) }
            source = publisher
            guard source.stage(named: task.stage) != nil else {
                return
                    "\(what) fetches from stage '\(task.stage)' of pipeline '\(source.name)', which has no such stage"
            }
        }
        guard source.stage(named: task.stage)?.job(named: task.job) != nil else {
            return
                "\(what) fetches from job '\(task.job)' of stage '\(source.name)/\(task.stage)', which has no such job"
        }
        return nil
    }

    /// One error per pipeline caught in a dependency cycle, at its material that leads into the cycle.
    private func cycles(_ pipelines: [ParsedPipeline], byName: [String: ParsedPipeline]) -> [ConfigError] {
        var errors: [ConfigError] = []
        for pipeline in pipelines {
            guard let (path, location) = shortestCycle(from: pipeline, byName: byName) else { continue }
            errors.append(
                ConfigError(
                    .dependencyCycle, at: location,
                    "dependency materials form a cycle: \(path.joined(separator: " -> ")) (each pipeline depends on the next)",
                    pipeline: pipeline.definition.name))
        }
        return errors
    }

    /// The shortest path of upstream edges from `start` back to itself, and where its first edge is written.
    private func shortestCycle(
        from start: ParsedPipeline, byName: [String: ParsedPipeline]
    ) -> (path: [String], location: ConfigLocation)? {
        let startKey = start.definition.name.lowercased()
        var queue: [(key: String, path: [String], location: ConfigLocation)] = start.dependencies.compactMap {
            dependency in
            let key = dependency.material.pipeline.lowercased()
            guard let upstream = byName[key] else { return nil }
            return (key, [start.definition.name, upstream.definition.name], dependency.location)
        }
        var visited: Set<String> = []
        var head = 0
        while head < queue.count {
            let (key, path, location) = queue[head]
            head += 1
            if key == startKey { return (path, location) }
            guard visited.insert(key).inserted, let node = byName[key] else { continue }
            for dependency in node.dependencies {
                let next = dependency.material.pipeline.lowercased()
                guard let upstream = byName[next] else { continue }
                queue.append((next, path + [upstream.definition.name], location))
            }
        }
        return nil
    }

    /// The pipeline with the names its dependency materials and fetch tasks use spelled as declared.
    private func canonical(_ pipeline: ParsedPipeline, byName: [String: ParsedPipeline]) -> ParsedPipeline {
        var result = pipeline
        result.definition.materials = pipeline.definition.materials.map { material in
            guard case .dependency(var dependency) = material,
                let upstream = byName[dependency.pipeline.lowercased()]?.definition
            else { return material }
            dependency.pipeline = upstream.name
            dependency.stage = upstream.stage(named: dependency.stage)?.name ?? dependency.stage
            return .dependency(dependency)
        }
        result.dependencies = result.definition.dependencyMaterials.enumerated().map { offset, material in
            DependencyReference(material: material, location: pipeline.dependencies[offset].location)
        }
        for fetch in pipeline.fetches {
            var task = fetch.task
            let path = task.pipelinePath.map { byName[$0.lowercased()]?.definition.name ?? $0 }
            if task.pipeline != nil { task.pipeline = path.joined(separator: "/") }
            let ancestors = ancestry(task, of: pipeline.definition.name)
            let source = ancestors.first.flatMap { byName[$0.lowercased()]?.definition } ?? result.definition
            if let stage = source.stage(named: task.stage) {
                task.stage = stage.name
                task.job = stage.job(named: task.job)?.name ?? task.job
            }
            result.definition.stages[fetch.stageIndex].jobs[fetch.jobIndex].tasks[fetch.taskIndex] = .fetch(task)
        }
        return result
    }
}
