import Foundation
import Synchronization

/// The dashboard's sign-ins. Signing in with an API token starts a session: the browser's cookie
/// holds the session's random id, never the token, and the session ends when the user signs out
/// or after `lifetime` (12 h by default), whichever comes first. Sessions live in the
/// scheduler's memory: a restart signs everyone out.
final class SignInSessions: Sendable {
    private struct Session {
        let token: String
        let expires: Date
    }

    private let sessions = Mutex<[String: Session]>([:])
    /// How long a session lasts from sign-in.
    let lifetime: TimeInterval
    private let now: @Sendable () -> Date

    init(lifetime: TimeInterval = 12 * 3600, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.now = now
    }

    /// Starts a session for `token` (already checked) and returns its id, for the cookie.
    func begin(token: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        let at = now()
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > at }
            sessions[id] = Session(token: token, expires: at.addingTimeInterval(lifetime))
        }
        return id
    }

    /// The API token of session `id`, or nil if there is no such session or it has expired.
    func token(for id: String) -> String? {
        let at = now()
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > at else {
                sessions[id] = nil
                return nil
            }
            return session.token
        }
    }

    /// Ends session `id` (signing out).
    func end(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// How many sessions are open.
    var count: Int {
        let at = now()
        return sessions.withLock { $0.values.filter { $0.expires > at }.count }
    }
}
