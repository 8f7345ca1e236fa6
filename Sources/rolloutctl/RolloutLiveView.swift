import Foundation
import RolloutCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the live view of a rollout shows: the deployment as `rollout.get` gave it, updated by
/// each `rollout.wait` notification (`{event, status, weight, nextStepAt?}`). A value with no
/// I/O; ``RolloutLiveView`` draws its ``lines(now:columns:)``.
struct RolloutScreen: Sendable {
    /// The deployment id.
    var deploymentId: String
    /// `function:alias`.
    var target: String
    /// `from → to`.
    var versions: String
    /// The deployment status (`InProgress`, ...).
    var status: String
    /// The weight of each step of the plan, 0…1 (empty when the strategy has no valid steps).
    var steps: [Double]
    /// The step the deployment is on, 1-based (0 before the first shift).
    var step = 0
    /// The weight the current step asks for, 0…1 (`ShiftRequested`).
    var setWeight: Double
    /// The weight the alias carries, as the daemon last reported it (`ShiftApplied`, rollback).
    var actualWeight: Double
    /// When the next shift is due, seconds since the epoch.
    var nextStepAt: Double?
    /// Whether the deployment is paused.
    var paused: Bool
    /// Each hook that ran, in order, with its state (`running`, `succeeded`, `failed`).
    var hooks: [(name: String, state: String)] = []
    /// The alarms in ALARM that stopped the deployment, if any.
    var alarm: String?
    /// Every event seen, oldest first, each once.
    private(set) var events: [Deployment.Event] = []
    private var seen: Set<Deployment.Event> = []

    /// The screen for `deployment`, its events already applied.
    init(_ deployment: Deployment) {
        deploymentId = deployment.deploymentId
        target = "\(deployment.function):\(deployment.alias)"
        versions = "\(deployment.fromVersion) → \(deployment.toVersion)"
        status = deployment.status.rawValue
        steps = ((try? deployment.strategy.steps()) ?? []).map(\.weight)
        setWeight = deployment.weight
        actualWeight = deployment.weight
        nextStepAt = deployment.nextStepAt.flatMap(RFC3339.parse)
        paused = deployment.paused ?? false
        step = steps.lastIndex { $0 <= deployment.weight + 1e-9 }.map { deployment.weight > 0 ? $0 + 1 : 0 } ?? 0
        for event in deployment.events { record(event) }
    }

    /// Applies one `rollout.wait` notification; returns its event when it was not seen before.
    @discardableResult
    mutating func apply(_ progress: JSONObject) -> Deployment.Event? {
        status = progress["status"]?.stringValue ?? status
        actualWeight = progress["weight"]?.doubleValue ?? actualWeight
        nextStepAt = progress["nextStepAt"]?.stringValue.flatMap(RFC3339.parse)
        guard let event = progress["event"].flatMap({ try? JSONValueDecoder().decode(Deployment.Event.self, from: $0) }) else {
            return nil
        }
        return record(event) ? event : nil
    }

    /// Adds `event` unless already seen, updating step, set weight, pause, hooks and alarms.
    @discardableResult
    private mutating func record(_ event: Deployment.Event) -> Bool {
        guard seen.insert(event).inserted else { return false }
        events.append(event)
        switch event.type {
        case "ShiftRequested":
            // `step 2/4: weight 0.5`
            if let (index, _) = Self.stepFraction(event.detail) { step = index }
            if let weight = Self.weight(in: event.detail) { setWeight = weight }
        case "ShiftApplied":
            if let weight = Self.weight(in: event.detail) { actualWeight = weight }
        case "Paused": paused = true
        case "Resumed": paused = false
        case "HookInvoked": setHook(event.detail, "running")
        case "HookSucceeded": setHook(event.detail, "succeeded")
        case "RollbackStarted":
            if event.detail.hasPrefix("HOOK_EXECUTION_FAILURE"), let running = hooks.lastIndex(where: { $0.state == "running" }) {
                hooks[running].state = "failed"
            }
            if event.detail.hasPrefix("ALARM_ACTIVE") {
                alarm = event.detail.split(separator: ":", maxSplits: 2).last.map { $0.trimmingCharacters(in: .whitespaces) }
            }
            setWeight = 0
        case "RollbackApplied": actualWeight = 0
        default: break
        }
        return true
    }

    private mutating func setHook(_ name: String, _ state: String) {
        if let index = hooks.firstIndex(where: { $0.name == name }) {
            hooks[index].state = state
        } else {
            hooks.append((name, state))
        }
    }

    /// The lines of the screen, none longer than `columns`: a key/value block, the weight bar
    /// with the countdown, and the last `eventLimit` events as an aligned table.
    func lines(now: Double, columns: Int = 200, eventLimit: Int = 5) -> [String] {
        let stepText = steps.isEmpty ? "-" : "\(step)/\(steps.count)"
        let rows: [(String, String)] = [
            ("deployment", deploymentId), ("function", target), ("versions", versions), ("status", paused ? "\(status) (paused)" : status),
            ("step", stepText),
            ("weight", "set \(HumanText.percent(setWeight))  actual \(HumanText.percent(actualWeight))"),
            ("hooks", hooks.isEmpty ? "none run yet" : hooks.map { "\($0.name) \($0.state)" }.joined(separator: ", ")),
            ("alarms", alarm.map { "in ALARM: \($0)" } ?? "none in ALARM"),
        ]
        var lines = HumanText.block(rows).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.append("")
        lines.append(RolloutLiveView.statusLine(weight: actualWeight, status: status, nextStepAt: nextStepAt, paused: paused, now: now))
        if !events.isEmpty {
            var table = Table("AT", "EVENT", "DETAIL")
            for event in events.suffix(eventLimit) {
                table.append([event.at, event.type, RolloutCommand.humanDetail(event.detail)])
            }
            lines.append("")
            lines += table.rendered().split(separator: "\n").map(String.init)
        }
        return lines.map { HumanText.truncated($0, to: max(columns, 20)) }
    }

    /// `(2, 4)` from `step 2/4: ...`.
    static func stepFraction(_ detail: String) -> (Int, Int)? {
        guard detail.hasPrefix("step ") else { return nil }
        let fraction = detail.dropFirst(5).prefix { $0 != ":" }.split(separator: "/")
        guard fraction.count == 2, let index = Int(fraction[0]), let count = Int(fraction[1]) else { return nil }
        return (index, count)
    }

    /// `0.5` from `... weight 0.5`.
    static func weight(in detail: String) -> Double? {
        guard let range = detail.range(of: "weight ", options: .backwards) else { return nil }
        return Double(detail[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}

/// The live view of a rollout wait on a terminal: one screen (``RolloutScreen``) redrawn in
/// place on stdout, as `kubectl argo rollouts get rollout --watch` does, on every notification
/// and every second for the countdown.
///
/// A redraw moves the cursor up over the previous screen clearing each line (`ESC[1A`, `\r ESC[K`)
/// and writes the new one. Notifications arrive on the client's event loop and the ticks in
/// their own task; the mutex keeps redraws whole and in order. ``finish()`` erases the screen,
/// so that the final rendering (which lists every event) replaces it.
final class RolloutLiveView: Sendable {
    private struct State {
        var screen: RolloutScreen
        var drawnLines = 0
        var finished = false
    }

    private let state: Mutex<State>
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    private init(screen: RolloutScreen) {
        state = Mutex(State(screen: screen))
    }

    /// A running view of `deployment` when the console allows one (human output to a
    /// terminal, progress on); `nil` otherwise.
    static func start(_ console: Console, deployment: Deployment) -> RolloutLiveView? {
        guard console.live else { return nil }
        let view = RolloutLiveView(screen: RolloutScreen(deployment))
        view.redraw()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                view.redraw()
            }
        }
        view.ticker.withLock { $0 = ticker }
        return view
    }

    /// Applies one `rollout.wait` notification and redraws.
    func show(_ progress: JSONObject) {
        state.withLock { state in
            guard !state.finished else { return }
            state.screen.apply(progress)
        }
        redraw()
    }

    /// Stops the redraws and erases the screen.
    func finish() {
        ticker.withLock { $0?.cancel() }
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            StandardStream.output.write(Self.erase(state.drawnLines))
            state.drawnLines = 0
        }
    }

    private func redraw() {
        let columns = Self.terminalColumns()
        state.withLock { state in
            guard !state.finished else { return }
            let lines = state.screen.lines(now: Date().timeIntervalSince1970, columns: columns)
            StandardStream.output.write(Self.erase(state.drawnLines) + lines.map { $0 + "\n" }.joined())
            state.drawnLines = lines.count
        }
    }

    /// Moves up over `lines` lines written with trailing newlines, clearing each: the cursor
    /// ends at the start of the first, which is clear.
    static func erase(_ lines: Int) -> String {
        String(repeating: "\u{1B}[1A\r\u{1B}[K", count: lines)
    }

    /// The terminal's width (stdout), 80 when unknown.
    private static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// The weight as a bar and a percentage, the status, and the next step's local time with a
    /// countdown (`due` once it has passed):
    /// `[#####...............]   25%  InProgress  next step 12:00:03 (in 4 s)`.
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
