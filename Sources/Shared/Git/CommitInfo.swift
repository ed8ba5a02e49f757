public import Foundation

/// What a commit says about itself, for the dashboard and for checking `GO_REVISION`.
public struct CommitInfo: Sendable, Equatable, Codable {
    /// The full commit hash.
    public var revision: String
    /// The author's name.
    public var author: String
    /// The author's email address.
    public var email: String
    /// When the author made the commit (to the second).
    public var date: Date
    /// The first line of the message.
    public var subject: String
    /// The whole message, without its trailing newline.
    public var message: String

    /// Creates commit information.
    public init(revision: String, author: String, email: String, date: Date, subject: String, message: String) {
        self.revision = revision
        self.author = author
        self.email = email
        self.date = date
        self.subject = subject
        self.message = message
    }
}
