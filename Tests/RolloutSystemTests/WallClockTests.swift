import Foundation
import RolloutSystem
import Testing

@Suite("WallClock: CLOCK_REALTIME in seconds, milliseconds and as a Duration")
struct WallClockTests {
    @Test("agrees with Foundation's clock and with itself in every unit")
    func agrees() {
        let before = Date().timeIntervalSince1970
        let seconds = WallClock.seconds()
        let milliseconds = WallClock.milliseconds()
        let sinceEpoch = WallClock.sinceEpoch()
        let after = Date().timeIntervalSince1970
        #expect(seconds >= before - 0.001 && seconds <= after + 0.001)
        #expect(Double(milliseconds) / 1000 >= seconds - 0.001)
        #expect(Double(milliseconds) / 1000 <= after + 0.001)
        let fromDuration = Double(sinceEpoch.components.seconds) + Double(sinceEpoch.components.attoseconds) / 1e18
        #expect(fromDuration >= seconds && fromDuration <= after + 0.001)
        // Well after 2020-01-01 and before 2100: the unit is seconds, not milliseconds.
        #expect(seconds > 1_577_836_800 && seconds < 4_102_444_800)
    }

    @Test("milliseconds are whole and move forward")
    func milliseconds() throws {
        let first = WallClock.milliseconds()
        usleep(5_000)
        let second = WallClock.milliseconds()
        #expect(second - first >= 4 && second - first < 60_000)
    }
}
