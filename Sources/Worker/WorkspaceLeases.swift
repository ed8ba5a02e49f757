/// Hands out work directory names under `pipelines/`: GoCD's `<pipeline>` to the first job of a
/// pipeline, `<pipeline>+2`, `+3`… to jobs of the same pipeline running at the same time in
/// other slots, so two checkouts never share a tree. `+` cannot appear in a pipeline name, so a
/// copy's folder is never another pipeline's (`foo-2` is a valid pipeline name). Names are
/// reused, so checkouts stay warm.
actor WorkspaceLeases {
    private var inUse: Set<String> = []

    func lease(_ pipeline: String) -> String {
        var name = pipeline
        var copy = 2
        while inUse.contains(name) {
            name = "\(pipeline)+\(copy)"
            copy += 1
        }
        inUse.insert(name)
        return name
    }

    func release(_ name: String) {
        inUse.remove(name)
    }
}
