import Testing
@testable import Worker

/// Two jobs running at once never share a work directory, also across pipelines whose names
/// look like copies (`foo-2` is a valid pipeline name).
@Suite struct WorkspaceLeasesTests {
    @Test func copiesOfOnePipelineNeverTakeAnotherPipelinesFolder() async {
        let leases = WorkspaceLeases()
        let first = await leases.lease("foo")
        let second = await leases.lease("foo")
        let other = await leases.lease("foo-2")
        #expect(Set([first, second, other]).count == 3)
        #expect(first == "foo" && other == "foo-2")
        await leases.release(second)
        #expect(await leases.lease("foo") == second)
    }
}
