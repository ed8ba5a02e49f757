import Foundation
import Logging
import Shared

/// GoCD's artifact purge: when the data directory's free disk falls below `startBytes`, the
/// artifacts of the oldest stage runs are deleted until it is back above `stopBytes`. Never those
/// of a stage whose config says `keep_artifacts: true`, of a pipeline's newest instance, of an
/// instance still running or waiting, or of an instance a running or waiting one derives from
/// (its `fetch` tasks may read them). A purged stage run keeps a marker (`<stage counter>.purged`
/// beside its folder) that the job page shows.
struct ArtifactRetention: Sendable {
    let engine: SchedulerEngine
    let artifacts: ArtifactStore
    /// Purging starts below this much free space and stops above `stopBytes`; 0: never.
    let startBytes: Int64
    let stopBytes: Int64
    let logger: Logger
    /// The data directory's free space in bytes (the file system's, by default).
    var freeBytes: @Sendable () -> Int64? = { nil }

    /// The free space of the file system holding `path`.
    static func freeSpace(of path: String) -> Int64? {
        ((try? FileManager.default.attributesOfFileSystem(forPath: path))?[.systemFreeSize] as? NSNumber)?.int64Value
    }

    /// One stage run's artifacts that may be purged.
    struct Candidate: Sendable {
        var pipeline: String
        var counter: Int
        var stage: String
        var stageCounter: Int
        var createdAt: Date
        var folder: URL
        var checksums: URL
    }

    /// Purges if the disk is low; returns the stage runs purged (`pipeline/counter/stage/stageCounter`).
    @discardableResult
    func purgeIfLow() async -> [String] {
        guard startBytes > 0, let free = freeBytes(), free < startBytes else { return [] }
        var purged: [String] = []
        var available = free
        for candidate in await candidates() {
            guard available < stopBytes else { break }
            let size = Self.size(of: candidate.folder)
            do {
                try FileManager.default.removeItem(at: candidate.folder)
                try? FileManager.default.removeItem(at: candidate.checksums)
                let reason = "purged \(ISO8601DateFormatter().string(from: Date())): \(free >> 20) MiB free on the data directory, "
                    + "below artifact_purge_start_mb (\(startBytes >> 20))"
                try Data(reason.utf8).write(to: Self.marker(of: candidate.folder))
            } catch {
                logger.error("artifact purge failed", metadata: ["stage run": "\(candidate.folder.path)", "error": "\(error)"])
                continue
            }
            available = freeBytes() ?? (available + size)
            let name = "\(candidate.pipeline)/\(candidate.counter)/\(candidate.stage)/\(candidate.stageCounter)"
            purged.append(name)
            logger.notice("artifacts purged: the disk is low", metadata: ["stage run": "\(name)", "bytes": "\(size)", "free": "\(available)"])
        }
        if available < stopBytes {
            logger.warning("the disk is still low after purging every artifact that may go", metadata: ["free": "\(available)", "target": "\(stopBytes)"])
        }
        return purged
    }

    /// Why the artifacts of this stage run are gone, if they were purged.
    static func purgeNote(root: URL, pipeline: String, counter: Int, stage: String, stageCounter: Int) -> String? {
        let folder = root.appendingPathComponent(pipeline).appendingPathComponent(String(counter))
            .appendingPathComponent(stage).appendingPathComponent(String(stageCounter))
        return (try? String(contentsOf: marker(of: folder), encoding: .utf8))
    }

    private static func marker(of folder: URL) -> URL {
        folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + ".purged")
    }

    /// The stage runs whose artifacts may go, oldest instance first.
    func candidates() async -> [Candidate] {
        let config = await engine.config
        let manager = FileManager.default
        var protected: Set<String> = []
        var found: [Candidate] = []
        var memo: [String: [String: Int]] = [:]
        // Instances running or waiting, and what they derive from.
        for pipeline in config.pipelines {
            guard let runs = try? await engine.queries.history(of: pipeline.name, limit: 50).runs else { continue }
            if let newest = runs.first { protected.insert("\(newest.pipelineName.lowercased())/\(newest.counter)") }
            for run in runs where !run.isCompleted {
                for (name, counter) in await engine.ancestry(of: run.pipelineName, counter: run.counter, memo: &memo) {
                    protected.insert("\(name)/\(counter)")
                }
            }
        }
        for pipelineName in (try? manager.contentsOfDirectory(atPath: artifacts.root.path)) ?? [] {
            let pipelineFolder = artifacts.root.appendingPathComponent(pipelineName)
            for counterName in (try? manager.contentsOfDirectory(atPath: pipelineFolder.path)) ?? [] {
                guard let counter = Int(counterName), !protected.contains("\(pipelineName.lowercased())/\(counter)"),
                      let run = try? await engine.queries.pipelineRun(pipelineName, counter: counter), run.isCompleted else { continue }
                let counterFolder = pipelineFolder.appendingPathComponent(counterName)
                for stage in (try? manager.contentsOfDirectory(atPath: counterFolder.path)) ?? [] {
                    guard config.pipeline(named: pipelineName)?.stage(named: stage)?.keepArtifacts != true else { continue }
                    let stageFolder = counterFolder.appendingPathComponent(stage)
                    for stageCounterName in (try? manager.contentsOfDirectory(atPath: stageFolder.path)) ?? [] {
                        guard let stageCounter = Int(stageCounterName) else { continue }
                        let folder = stageFolder.appendingPathComponent(stageCounterName)
                        let checksums = artifacts.checksums.appendingPathComponent(pipelineName).appendingPathComponent(counterName)
                            .appendingPathComponent(stage).appendingPathComponent(stageCounterName)
                        found.append(Candidate(pipeline: pipelineName, counter: counter, stage: stage, stageCounter: stageCounter,
                                               createdAt: run.createdAt, folder: folder, checksums: checksums))
                    }
                }
            }
        }
        return found.sorted { ($0.createdAt, $0.counter, $0.stage, $0.stageCounter) < ($1.createdAt, $1.counter, $1.stage, $1.stageCounter) }
    }

    private static func size(of folder: URL) -> Int64 {
        var total: Int64 = 0
        if let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey]) {
            for case let file as URL in walker { total += Int64((try? file.resourceValues(forKeys: [.fileSizeKey]))?.fileSize ?? 0) }
        }
        return total
    }
}
