import Foundation
import Testing

/// A job's JUnit reports (`test` artifacts, issue #16): counts and failing tests on the API, the
/// instance page and the job page, without opening the console.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TestReportIntegrationTests {
    @Test func failingTestsShowOnTheAPIAndTheDashboard() async throws {
        try await RelevoCluster.with { cluster in
            let report = #"<testsuite name="s"><testcase classname="calc" name="adds"/><testcase classname="calc" name="divides"><failure message="expected 2 but was 3"/></testcase><testcase classname="calc" name="later"><skipped/></testcase></testsuite>"#
            try cluster.writeUnfetchedPipeline("tested", stage: "test", jobs: [("unit", """
                artifacts: [{test: {source: reports}}]
                tasks:
                  - script: |
                      mkdir -p reports
                      cat > reports/TEST-calc.xml <<'XML'
                      \(report)
                      XML
                      echo '<other/>' > reports/notes.xml
                      exit 1
                """)])
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/tested/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            _ = try await cluster.api.waitFor("tested", 1, states: ["failed"], seconds: 60)

            let tests = try await cluster.api.get("/go/api/jobs/tested/1/test/1/unit/tests")
            #expect(tests.status == 200, "\(tests.text)")
            let json = try tests.json()
            #expect(json["total"] as? Int == 3 && json["failed"] as? Int == 1 && json["passed"] as? Int == 1 && json["skipped"] as? Int == 1, "\(json)")
            let failure = (json["failures"] as? [[String: Any]])?.first
            #expect(failure?["name"] as? String == "divides" && failure?["message"] as? String == "expected 2 but was 3")
            #expect(json["files"] as? [String] == ["reports/TEST-calc.xml"], "other XML is not a report")

            let instance = try await cluster.api.get("/pipelines/tested/1").text
            #expect(instance.contains("data-tests=\"1/1/1\"") && instance.contains("data-failing-tests") && instance.contains("expected 2 but was 3"), "\(instance)")
            let job = try await cluster.api.get("/jobs/tested/1/test/1/unit").text
            #expect(job.contains("data-test-summary") && job.contains("1 passed, 1 failed, 1 skipped"), "\(job)")
            #expect(try await cluster.api.get("/go/api/jobs/tested/1/test/1/nope/tests").status == 404)
        }
    }
}
