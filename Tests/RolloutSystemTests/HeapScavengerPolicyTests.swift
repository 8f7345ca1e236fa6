import RolloutSystem
import Testing

@Suite("Heap scavenger: trim once when a busy process turns quiet")
struct HeapScavengerPolicyTests {
    let mebibyte = 1 << 20

    @Test("idle from the start: long ticks, no trim, whatever malloc holds")
    func idle() {
        var policy = HeapScavengerPolicy()
        for _ in 0..<5 {
            #expect(policy.next(cpuUsed: .milliseconds(1), freeBytes: 8 * mebibyte) == .wait)
            #expect(policy.tick == policy.longTick)
        }
    }

    @Test("busy: short ticks and no trim; the first quiet tick trims once, then long ticks")
    func burst() {
        var policy = HeapScavengerPolicy()
        #expect(policy.next(cpuUsed: .milliseconds(500), freeBytes: 8 * mebibyte) == .wait)
        #expect(policy.tick == policy.shortTick)
        #expect(policy.next(cpuUsed: .milliseconds(200), freeBytes: 8 * mebibyte) == .wait)
        #expect(policy.tick == policy.shortTick)
        #expect(policy.next(cpuUsed: .milliseconds(1), freeBytes: 3 * mebibyte) == .trim)
        #expect(policy.tick == policy.longTick)
        #expect(policy.next(cpuUsed: .milliseconds(1), freeBytes: 3 * mebibyte) == .wait)
        #expect(policy.tick == policy.longTick)
    }

    @Test("a burst that left little free memory is not worth a trim")
    func littleFree() {
        var policy = HeapScavengerPolicy()
        _ = policy.next(cpuUsed: .milliseconds(500), freeBytes: 0)
        #expect(policy.next(cpuUsed: .milliseconds(1), freeBytes: 100 * 1024) == .wait)
        #expect(policy.tick == policy.longTick)
    }

    @Test("a long tick tolerates proportionally more background CPU before it counts as busy")
    func scaledThreshold() {
        var policy = HeapScavengerPolicy()
        // 20 short ticks' worth of quiet CPU (3 ms each) over a 5 s tick is still quiet.
        #expect(policy.next(cpuUsed: .milliseconds(50), freeBytes: 0) == .wait)
        #expect(policy.tick == policy.longTick)
        #expect(policy.next(cpuUsed: .milliseconds(70), freeBytes: 0) == .wait)
        #expect(policy.tick == policy.shortTick)
    }

    @Test("ProcessHeap reads: the CPU clock moves forward; a trim leaves the heap usable")
    func readings() {
        let before = ProcessHeap.cpuTime()
        var blocks: [[UInt8]] = []
        for index in 0..<64 { blocks.append([UInt8](repeating: UInt8(index), count: 64 * 1024)) }
        blocks.removeAll()
        #expect(ProcessHeap.freeBytes() >= 0)
        ProcessHeap.trim()
        #expect(ProcessHeap.cpuTime() > before)
        #expect([UInt8](repeating: 7, count: 1 << 20).count == 1 << 20)
    }
}
