import Foundation
import Testing

@testable import Scheduler

/// JUnit XML as the common test tools write it (surefire, pytest, go-junit-report).
@Suite struct TestReportTests {
    static let junit = """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites>
          <testsuite name="app" tests="5" failures="1" errors="1" skipped="1">
            <testcase classname="app.Maths" name="adds" time="0.01"/>
            <testcase classname="app.Maths" name="divides &amp; rounds" time="0.02">
              <failure message="expected &lt;2&gt; but was &lt;3&gt;" type="AssertionError">stack</failure>
            </testcase>
            <testcase classname="app.Io" name="reads">
              <error type="IOError"><![CDATA[disk on fire
        at line 3]]></error>
            </testcase>
            <testcase classname="app.Io" name="writes"><skipped/></testcase>
            <testcase name="bare"></testcase>
          </testsuite>
        </testsuites>
        """

    @Test func casesFailuresErrorsAndSkipsAreCounted() {
        var report = TestReport()
        let isReport = report.add(Self.junit, file: "reports/TEST-app.xml")
        #expect(isReport)
        #expect(report.total == 5 && report.failed == 2 && report.skipped == 1 && report.passed == 2)
        #expect(report.summary == "2 passed, 2 failed, 1 skipped")
        #expect(report.failures.map(\.name) == ["divides & rounds", "reads"])
        #expect(report.failures.map(\.message) == ["expected <2> but was <3>", "disk on fire"])
        #expect(report.failures.map(\.kind) == ["failure", "error"])
        #expect(report.failures.first?.classname == "app.Maths" && report.files == ["reports/TEST-app.xml"])
    }

    @Test func otherXMLIsNotAReport() {
        var report = TestReport()
        let isReport = report.add("<project><dependency/></project>", file: "pom.xml")
        #expect(!isReport)
        #expect(report.files.isEmpty && report.total == 0)
    }
}
