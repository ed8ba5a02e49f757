import Foundation
import Shared

/// A message dead-lettered to `relevo.dead`, as the scheduler reads it: what it was, which queue
/// it left and why. Built from the headers Relevo's own processes set (`x-relevo-dead-reason`,
/// `x-relevo-original-queue`) or the broker's `x-death` (a queue's delivery limit, a rejection).
struct DeadLetter: Sendable, Equatable {
    /// What the message was.
    enum Kind: String, Sendable, Codable {
        /// A job message (AMQP `type` `relevo.job`).
        case job
        /// A worker event.
        case event
        /// Anything else.
        case other
    }

    var kind: Kind
    /// The queue it was taken from.
    var originalQueue: String
    /// Why it was dead-lettered, in words.
    var reason: String
    /// For a job message: the job run it would have run.
    var jobRunID: JobRunID?
    /// For a job message: which attempt at it (nil for a message of an older version).
    var attempt: Int?
    /// The AMQP message id, if any.
    var messageID: String?
    /// The start of the body, as text (for the API; the whole body may be large or binary).
    var bodyPrefix: String

    /// A dead letter as recorded.
    init(kind: Kind, originalQueue: String, reason: String, jobRunID: JobRunID? = nil, attempt: Int? = nil, messageID: String?,
         bodyPrefix: String) {
        self.kind = kind
        self.originalQueue = originalQueue
        self.reason = reason
        self.jobRunID = jobRunID
        self.attempt = attempt
        self.messageID = messageID
        self.bodyPrefix = bodyPrefix
    }

    /// Reads a delivery from `relevo.dead`.
    init(properties: MessageProperties, routingKey: String, body: [UInt8]) {
        let death = Self.firstDeath(properties.headers["x-death"])
        originalQueue = properties.headers["x-relevo-original-queue"]?.stringValue
            ?? death?["queue"]?.stringValue ?? routingKey
        if let reason = properties.headers["x-relevo-dead-reason"]?.stringValue {
            self.reason = reason
        } else if let deathReason = death?["reason"]?.stringValue {
            let count = death?["count"]?.intValue.map { " after \($0) deliveries" } ?? ""
            self.reason = switch deathReason {
            case "delivery_limit": "handed back too many times: the queue's delivery limit (\(QueueCatalog.jobDeliveryLimit)) was reached\(count)"
            case "rejected": "rejected by a consumer\(count)"
            case "expired": "expired in the queue"
            case "maxlen": "dropped: the queue was full"
            default: "dead-lettered by the broker (\(deathReason))"
            }
        } else {
            reason = "no reason given"
        }
        messageID = properties.messageID
        if properties.type == "relevo.job" {
            kind = .job
        } else if originalQueue == QueueCatalog.schedulerEventsQueue || routingKey.hasPrefix("event.") {
            kind = .event
        } else {
            kind = .other
        }
        // A job message's id is its attempt, `<job run id>#<attempt>` (before version 3: the job run id).
        if kind == .job, let id = properties.messageID {
            if let mark = id.lastIndex(of: "#"), let number = Int(id[id.index(after: mark)...]) {
                jobRunID = JobRunID(parsing: String(id[..<mark]))
                attempt = number
            } else {
                jobRunID = JobRunID(parsing: id)
            }
        }
        bodyPrefix = String(decoding: body.prefix(4096), as: UTF8.self)
    }

    /// The newest entry of the broker's `x-death` header.
    private static func firstDeath(_ value: AMQPValue?) -> [String: AMQPValue]? {
        guard case .array(let entries)? = value, case .table(let first)? = entries.first else { return nil }
        return first
    }
}
