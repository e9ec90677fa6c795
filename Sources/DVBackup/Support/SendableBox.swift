/// Hands a non-Sendable value to exactly one other thread, which then owns it.
struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
