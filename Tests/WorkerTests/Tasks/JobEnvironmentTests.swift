import Shared
import Testing
@testable import Worker

@Suite struct JobEnvironmentTests {
    @Test func laterLevelsOverrideEarlierOnesAndServerVariablesWin() {
        let built = JobEnvironment.build(
            base: ["PATH": "/bin", "HOME": "/home/agent", "A": "base"],
            goVariables: ["GO_PIPELINE_NAME": "app", "GO_STAGE_NAME": "build"],
            environment: [.init(name: "A", value: "env"), .init(name: "B", value: "env")],
            pipeline: [.init(name: "B", value: "pipeline"), .init(name: "C", value: "pipeline")],
            stage: [.init(name: "C", value: "stage"), .init(name: "D", value: "stage")],
            job: [.init(name: "D", value: "job"), .init(name: "GO_STAGE_NAME", value: "forged")])
        #expect(built.variables == [
            "PATH": "/bin", "HOME": "/home/agent", "A": "env", "B": "pipeline", "C": "stage", "D": "job",
            "GO_PIPELINE_NAME": "app", "GO_STAGE_NAME": "build",
        ])
    }

    @Test func secureValuesOfEveryLevelAreKept() {
        let built = JobEnvironment.build(
            base: [:], goVariables: [:],
            environment: [.init(name: "TOKEN", value: "old-token", secure: true)],
            pipeline: [.init(name: "PLAIN", value: "visible")],
            job: [.init(name: "TOKEN", value: "new-token-long", secure: true), .init(name: "EMPTY", value: "", secure: true)])
        #expect(built.variables["TOKEN"] == "new-token-long")
        #expect(built.secureValues == ["new-token-long", "old-token"])
    }
}
