/// The agent's job slots: at most `capacity` jobs run at once; others wait, first come first served.
actor SlotPool {
    private let capacity: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    func acquire() async {
        if inUse < capacity {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    var busy: Int { inUse }
}
