/// Whether the consumer of a `serial:` queue has a job of that queue in hand (its prefetch is
/// one). While it does, the consumer must keep consuming: the moment it stops, the broker makes
/// another worker the queue's single active consumer and hands it the next job, which would run
/// beside this one. So a worker that must stop taking jobs stops consuming a serial queue only
/// once its job there is done (and before acking it, so that no next job arrives meanwhile).
actor SerialHold {
    private var held = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func take() { held += 1 }

    func release() {
        held -= 1
        guard held == 0 else { return }
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once no job of the queue is in hand.
    func waitUntilFree() async {
        while held > 0 { await withCheckedContinuation { waiters.append($0) } }
    }
}
