import Testing
@testable import Worker

/// Two jobs running at once never share a work directory, and a copy's folder is never another
/// pipeline's: folders are kept and reused, so `foo`'s second copy in `foo-2` would leave `foo`'s
/// checkout where pipeline `foo-2` later runs (`foo-2` is a valid pipeline name).
@Suite struct WorkspaceLeasesTests {
    @Test func copiesOfOnePipelineNeverTakeAnotherPipelinesFolder() async {
        let leases = WorkspaceLeases()
        let first = await leases.lease("foo")
        let second = await leases.lease("foo")
        let other = await leases.lease("foo-2")
        #expect(Set([first, second, other]).count == 3)
        #expect(first == "foo" && other == "foo-2")
        #expect(second == "foo+2")
        await leases.release(second)
        #expect(await leases.lease("foo") == second)
    }
}
