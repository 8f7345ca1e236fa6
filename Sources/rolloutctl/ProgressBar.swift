import RolloutCore
import Synchronization

/// A live transfer bar on stderr, fed by the daemon's `$/progress` notifications
/// (`{bytesDone, bytesTotal?}`): `[#####.....]  42%  12.3 MiB/29.0 MiB  8.1 MiB/s  ETA 2 s`, redrawn
/// in place with `\r`.
///
/// Notifications arrive on the client's event loop while the command waits for the result;
/// the mutex keeps redraws and the final newline in order.
final class ProgressBar: Sendable {
    private struct State {
        var drawn = false
        var finished = false
    }

    private let startedAt = ContinuousClock.now
    private let state = Mutex(State())

    /// A bar when the console draws progress bars and `enabled`; `nil` otherwise (then no progress
    /// token is sent at all).
    static func make(_ console: Console, enabled: Bool = true) -> ProgressBar? {
        enabled && console.progressBars ? ProgressBar() : nil
    }

    /// The callback to hand to ``Session/call(_:_:progress:)``.
    var callback: @Sendable (JSONObject) -> Void {
        { [self] params in
            guard let done = params["bytesDone"]?.int64Value else { return }
            draw(done: done, total: params["bytesTotal"]?.int64Value)
        }
    }

    /// Ends the bar: redraws it at `completedBytes` when the transfer succeeded (the last
    /// notification may predate the end), then moves to a new line if anything was drawn.
    func finish(completedBytes: Int64? = nil) {
        if let completedBytes {
            draw(done: completedBytes, total: completedBytes)
        }
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            if state.drawn { StandardStream.error.write("\n") }
        }
    }

    private func draw(done: Int64, total: Int64?) {
        let text = Self.line(done: done, total: total, elapsed: ContinuousClock.now - startedAt)
        state.withLock { state in
            guard !state.finished else { return }
            state.drawn = true
            StandardStream.error.write("\r" + text + "\u{1B}[K")
        }
    }

    /// The bar's text for `done` of `total` bytes after `elapsed`, with the rate and, while
    /// bytes remain, the time left at that rate (`ETA 1 min 5 s`).
    static func line(done: Int64, total: Int64?, elapsed: Duration, width: Int = 20) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let bytesPerSecond = seconds > 0.1 ? Double(done) / seconds : 0
        let rate = bytesPerSecond > 0 ? "  \(HumanText.bytes(Int64(bytesPerSecond)))/s" : ""
        guard let total, total > 0 else {
            return "\(HumanText.bytes(done))\(rate)"
        }
        let fraction = min(max(Double(done) / Double(total), 0), 1)
        let percent = String(Int((fraction * 100).rounded(.down)))
        let padded = String(repeating: " ", count: max(0, 3 - percent.count)) + percent
        var text = "\(bar(fraction, width: width)) \(padded)%  \(HumanText.bytes(done))/\(HumanText.bytes(total))\(rate)"
        if bytesPerSecond > 0, done < total {
            let left = (Double(total - done) / bytesPerSecond).rounded(.up)
            if left < 360_000 { text += "  ETA \(HumanText.duration(Int(left)))" }
        }
        return text
    }

    /// `[#####...............]`: `fraction` (0...1) of `width` cells filled.
    static func bar(_ fraction: Double, width: Int = 20) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }
}
