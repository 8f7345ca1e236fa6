import Foundation
import RolloutCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live view of a rollout wait on a terminal: each event printed on stdout as it arrives,
/// and under the events one status line redrawn in place every second —
/// `[#####...............]   25%  InProgress  next step 12:00:03 (in 4 s)`.
///
/// Notifications arrive on the client's event loop and the redraws run in their own task; the
/// mutex keeps lines and redraws in order. ``finish()`` erases the status line, so that the
/// final rendering starts on a clean line.
final class RolloutLiveView: Sendable {
    private struct State {
        var weight = 0.0
        var status = ""
        var nextStepAt: Double?
        var paused = false
        var drawn = false
        var finished = false
    }

    private let state = Mutex(State())
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// A running view when the console allows one (human output to a terminal); `nil` otherwise.
    static func start(_ console: Console) -> RolloutLiveView? {
        guard console.live else { return nil }
        let view = RolloutLiveView()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                view.redraw()
            }
        }
        view.ticker.withLock { $0 = ticker }
        return view
    }

    /// Shows one `rollout.wait` progress notification: its event line, then the status line.
    func show(_ progress: JSONObject) {
        let line = RolloutCommand.eventLine(progress)
        state.withLock { state in
            guard !state.finished else { return }
            state.weight = progress["weight"]?.doubleValue ?? state.weight
            state.status = progress["status"]?.stringValue ?? state.status
            state.nextStepAt = progress["nextStepAt"]?.stringValue.flatMap(RFC3339.parse)
            switch progress["event"]?["type"]?.stringValue {
            case "Paused": state.paused = true
            case "Resumed": state.paused = false
            default: break
            }
            state.drawn = true
            StandardStream.output.write("\r\u{1B}[K" + line + "\n" + Self.statusLine(state))
        }
    }

    /// Stops the redraws and erases the status line.
    func finish() {
        ticker.withLock { $0?.cancel() }
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            if state.drawn { StandardStream.output.write("\r\u{1B}[K") }
        }
    }

    private func redraw() {
        state.withLock { state in
            guard state.drawn, !state.finished else { return }
            StandardStream.output.write("\r" + Self.statusLine(state) + "\u{1B}[K")
        }
    }

    private static func statusLine(_ state: State) -> String {
        statusLine(weight: state.weight, status: state.status, nextStepAt: state.nextStepAt, paused: state.paused,
                   now: Date().timeIntervalSince1970)
    }

    /// The status line: the weight as a bar and a percentage, the status, and the next step's
    /// local time with a countdown (`due` once it has passed).
    static func statusLine(weight: Double, status: String, nextStepAt: Double?, paused: Bool, now: Double) -> String {
        let percent = HumanText.percent(weight)
        var line = "\(ProgressBar.bar(weight)) \(String(repeating: " ", count: max(0, 5 - percent.count)))\(percent)  \(status)"
        if paused {
            line += "  paused"
        } else if let nextStepAt {
            let remaining = Int((nextStepAt - now).rounded(.up))
            line += "  next step \(clockTime(nextStepAt)) (\(remaining > 0 ? "in " + HumanText.duration(remaining) : "due"))"
        }
        return line
    }

    /// `HH:MM:SS` of `seconds` since the epoch, in local time.
    static func clockTime(_ seconds: Double) -> String {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        localtime_r(&time, &parts)
        return [parts.tm_hour, parts.tm_min, parts.tm_sec].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
    }
}
