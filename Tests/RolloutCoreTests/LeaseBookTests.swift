import RolloutCore
import Testing

@Suite("autoExtend lease book (pure state machine)")
struct LeaseBookTests {
    @Test("a lease is due halfway through its visibility and again after each extension")
    func extensionSchedule() {
        var book = LeaseBook()
        book.leased(receipts: ["r1"], connectionID: 7, visibilitySeconds: 10, now: 100)
        #expect(book.due(now: 104.9).isEmpty)
        #expect(book.due(now: 105).map(\.receipt) == ["r1"])
        book.extended(receipt: "r1", now: 105)
        #expect(book.nextDue == 110)
        #expect(book.due(now: 109).isEmpty)
    }

    @Test("acked, nacked or hand-extended messages are no longer extended")
    func settled() {
        var book = LeaseBook()
        book.leased(receipts: ["a", "b"], connectionID: 1, visibilitySeconds: 4, now: 0)
        let first = book.settled(receipt: "a")
        let second = book.settled(receipt: "a")
        #expect(first)
        #expect(!second)
        #expect(book.due(now: 100).map(\.receipt) == ["b"])
    }

    @Test("closing a connection releases exactly its leases")
    func connectionClosed() {
        var book = LeaseBook()
        book.leased(receipts: ["a", "b"], connectionID: 1, visibilitySeconds: 30, now: 0)
        book.leased(receipts: ["c"], connectionID: 2, visibilitySeconds: 30, now: 0)
        let closed = book.connectionClosed(1)
        let again = book.connectionClosed(1)
        let rest = book.releaseAll()
        #expect(closed == ["a", "b"])
        #expect(again.isEmpty)
        #expect(rest == ["c"])
        #expect(book.nextDue == nil)
    }

    @Test("very short visibility timeouts still get a lead time")
    func shortVisibility() {
        var book = LeaseBook()
        book.leased(receipts: ["r"], connectionID: 1, visibilitySeconds: 0, now: 10)
        #expect(book.nextDue == 10.2)
    }
}
