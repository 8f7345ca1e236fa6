import NIOCore
import NIOEmbedded
import RolloutCore
import RolloutRPC
import RolloutServer

/// What must hold for any bytes a client sends, checked along the daemon's input path: the line
/// framer (read in two different splits), the JSON parser, the envelope, the answers a line is
/// owed (``RequestLedger``) and the JSON written back. A broken invariant stops the process, which
/// is what the fuzzer looks for.
enum ProtocolInvariants {
    /// Small limits, so that inputs of a few KiB reach over-long lines and oversized batches.
    static let maxLineBytes = 1024
    static let maxBatchItems = 4

    /// Checks one input.
    static func check(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        let lines = frame(bytes, readSize: Int(bytes.first ?? 0) % 64 + 1)
        require(lines == frame(bytes, readSize: max(1, bytes.count)), "framing does not depend on how reads split the input")
        for line in lines {
            check(line)
        }
        checkConnection(lines, schedule: bytes)
    }

    /// The lines through one connection's ``ConnectionStateMachine``, with a pipelining limit,
    /// the order in which requests finish and the way the connection ends all taken from the
    /// input: every line is owed as many answers as it has requests and invalid items (one for a
    /// line rejected as a whole; none for notifications and `$/` controls), none is written
    /// twice, and all are written by the end, whether the client half-closes or shutdown cuts in.
    static func checkConnection(_ lines: [FramedLine], schedule: [UInt8]) {
        var choices = schedule.makeIterator()
        func choice() -> Int { Int(choices.next() ?? 0) }
        var machine = ConnectionStateMachine(
            configuration: .init(maxInflight: choice() % 4 + 1, maxRequestBytes: maxLineBytes, maxBatchItems: maxBatchItems)
        )
        var owed = 0
        var written = 0
        var running: [(RequestLedger.ItemRef, IncomingItem)] = []
        var closed = false
        func apply(_ actions: [ConnectionStateMachine.Action]) {
            for action in actions {
                switch action {
                case .dispatch(let item, let ref): running.append((ref, item))
                case .write(let answer): written += answer.arrayValue?.count ?? 1
                case .close, .closeAfterFlush: closed = true
                default: break
                }
            }
            require(written <= owed, "no answer is written twice")
        }
        func finishOne() {
            guard !running.isEmpty else { return }
            let (ref, item) = running.remove(at: choice() % running.count)
            let answer: JSONValue? =
                switch item {
                case .request(let id, _, _): Outgoing.result(id: id, .null)
                case .notification: nil
                case .invalid(let id, let error): Outgoing.error(id: id, error)
                }
            apply(machine.requestFinished(ref, answer: answer))
        }
        apply(machine.peerAdmitted())
        for framed in lines {
            switch framed {
            case .tooLarge:
                owed += 1
                apply(machine.lineTooLarge())
            case .line(let buffer):
                let message = Envelope.parse(line: Array(buffer.readableBytesView), maxBatchItems: maxBatchItems)
                owed += RequestLedger.answerWithoutRunning(message).map { $0.arrayValue?.count ?? 1 } ?? 0
                apply(buffer.withUnsafeReadableBytes { machine.lineReceived($0) })
            }
            for _ in 0..<(choice() % 3) { finishOne() }
        }
        if choice() % 2 == 0 {
            apply(machine.inputClosed())
        } else {
            apply(machine.shutdownBegan())
            apply(machine.closeForShutdown())
        }
        while !running.isEmpty { finishOne() }
        require(written == owed, "every request is answered by the time the connection closes")
        require(closed, "the connection closes once nothing is owed")
    }

    /// The lines the framer makes of `bytes` delivered `readSize` bytes per read, then EOF.
    static func frame(_ bytes: [UInt8], readSize: Int) -> [FramedLine] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFramer(maxLineBytes: maxLineBytes)))
        var lines: [FramedLine] = []
        func collect() {
            while let line = try? channel.readInbound(as: FramedLine.self) {
                lines.append(line)
            }
        }
        var start = 0
        while start < bytes.count {
            let end = min(start + readSize, bytes.count)
            require((try? channel.writeInbound(ByteBuffer(bytes: bytes[start..<end]))) != nil, "the framer never throws")
            collect()
            start = end
        }
        channel.pipeline.fireChannelInactive()
        collect()
        _ = try? channel.finish()
        return lines
    }

    private static func check(_ framed: FramedLine) {
        guard case .line(let buffer) = framed else { return }
        let line = Array(buffer.readableBytesView)
        require(!line.isEmpty && line.count <= maxLineBytes, "a line is not empty and within max_request_bytes")
        require(!line.contains(UInt8(ascii: "\n")), "a line holds no newline")
        let message = Envelope.parse(line: line, maxBatchItems: maxBatchItems)
        let json = try? JSONParser.parse(line)
        switch message {
        case .rejected(let error):
            guard let json else {
                require(error.code == .parseError, "text that is not JSON is a parse error")
                break
            }
            let count = json.arrayValue?.count ?? -1
            require(error.code == .invalidRequest, "valid JSON rejected as a whole is an invalid request")
            require(count == 0 || count > maxBatchItems, "only [] and oversized batches are rejected as a whole")
            require(count == 0 || error.wireData["reason"] == "TooLarge", "an oversized batch is TooLarge")
        case .single(let item):
            guard let json, json.arrayValue == nil else {
                require(false, "a single item comes from a JSON text that is not an array")
                return
            }
            check(item, parsedFrom: json)
        case .batch(let items):
            let elements = json?.arrayValue ?? []
            require(elements.count == items.count, "a batch has one item per element")
            require((1...maxBatchItems).contains(items.count), "a batch holds 1...max_batch_items items")
            for (item, element) in zip(items, elements) {
                check(item, parsedFrom: element)
            }
        }
        checkAnswers(message)
        if let json { checkRoundTrip(json) }
    }

    /// The item says exactly what the JSON object says.
    private static func check(_ item: IncomingItem, parsedFrom element: JSONValue) {
        guard case .object(let object) = element else {
            guard case .invalid(let id, let error) = item else {
                require(false, "an element that is not an object is invalid")
                return
            }
            require(id == .null && error.code == .invalidRequest, "a non-object element is -32600 with id null")
            return
        }
        let idMember = object["id"]
        let wellFormed = object["jsonrpc"] == .string("2.0") && object["method"]?.stringValue != nil
        switch item {
        case .request(let id, let method, let params):
            require(wellFormed && idMember == id.value, "a request carries the id it was sent with")
            require(object["method"] == .string(method) && object["params"] == params, "a request keeps method and params")
        case .notification(let method, let params):
            require(wellFormed && idMember == nil, "only an object without id is a notification")
            require(object["method"] == .string(method) && object["params"] == params, "a notification keeps method and params")
        case .invalid(let id, let error):
            let validID = idMember.flatMap(RequestID.init)
            require(error.code == .invalidRequest, "an invalid item is -32600")
            require(id == (validID ?? .null), "an invalid item echoes its id when the id is valid, else null")
            require(!wellFormed || (idMember != nil && validID == nil), "only a malformed object is invalid")
        }
    }

    /// Every request and invalid item is owed exactly one answer and notifications none, whether
    /// the line finishes or shutdown abandons it; each answer is a well-formed response.
    private static func checkAnswers(_ message: IncomingMessage) {
        let items: [IncomingItem]
        let isBatch: Bool
        switch message {
        case .rejected:
            let answer = RequestLedger.answerWithoutRunning(message)
            require(answer?["id"] == .null, "a line rejected as a whole is answered once, with id null")
            answer.map(checkResponse)
            return
        case .single(let item):
            items = [item]
            isBatch = false
        case .batch(let batch):
            items = batch
            isBatch = true
        }
        let owedIDs = items.compactMap { item -> JSONValue? in
            switch item {
            case .request(let id, _, _), .invalid(let id, _): id.value
            case .notification: nil
            }
        }

        var ledger = RequestLedger()
        _ = ledger.open(items, isBatch: isBatch)
        let abandoned = ledger.abandonAll().flatMap { $0.arrayValue ?? [$0] }
        require(abandoned.map { $0["id"] } == owedIDs, "shutdown answers every request once and notifications never")
        require(
            (RequestLedger.answerWithoutRunning(message).map { $0.arrayValue ?? [$0] } ?? []) == abandoned,
            "a line never started is owed what an abandoned one is"
        )
        abandoned.forEach(checkResponse)

        let line = ledger.open(items, isBatch: isBatch)
        var finished: RequestLedger.Completion = .pending
        for (index, item) in items.enumerated() {
            require(finished == .pending, "a line finishes with its last item")
            let answer: JSONValue? =
                switch item {
                case .request(let id, _, _): Outgoing.result(id: id, .null)
                case .notification: nil
                case .invalid(let id, let error): Outgoing.error(id: id, error)
                }
            finished = ledger.complete(RequestLedger.ItemRef(line: line, index: index), answer: answer)
        }
        guard case .finished(let answer) = finished else {
            require(false, "a line whose items all answered is finished")
            return
        }
        let answered = answer.map { $0.arrayValue ?? [$0] } ?? []
        require(answered.map { $0["id"] } == owedIDs, "a finished line answers every request once")
        require(ledger.isEmpty && ledger.abandonAll().isEmpty, "nothing is owed after the answer")
    }

    /// `{"jsonrpc":"2.0","id":…,"result"|"error":…}` with exactly one of result and error, an
    /// integer error code and data {kind, reason}; written as exactly one line.
    private static func checkResponse(_ response: JSONValue) {
        guard case .object(let object) = response else {
            require(false, "a response is an object")
            return
        }
        require(object["jsonrpc"] == .string("2.0"), "a response says jsonrpc 2.0")
        require(object["id"].flatMap(RequestID.init) != nil, "a response id is a string, a number or null")
        require(Set(object.keys) == ["jsonrpc", "id", "error"] || Set(object.keys) == ["jsonrpc", "id", "result"], "exactly one of result and error")
        if let error = object["error"] {
            require(error["code"]?.int64Value != nil, "error.code is an integer")
            require(error["message"]?.stringValue != nil, "error.message is a string")
            let kind = error["data"]?["kind"]?.stringValue
            require(kind == "recoverable" || kind == "fatal", "error.data.kind is recoverable or fatal")
            require(error["data"]?["reason"]?.stringValue?.isEmpty == false, "error.data.reason is named")
        }
        let wire = Outgoing.line(response)
        require(wire.last == UInt8(ascii: "\n") && wire.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") }, "a response is one line")
        require((try? JSONParser.parse(Array(wire.dropLast()))) == response, "a response reads back as written")
    }

    /// Serializing a parsed value gives one line that parses back to the same value.
    private static func checkRoundTrip(_ json: JSONValue) {
        let text = json.serialized()
        require(!text.contains(UInt8(ascii: "\n")), "compact JSON holds no raw newline")
        require((try? JSONParser.parse(text)) == json, "JSON reads back as written")
    }

    private static func require(_ condition: Bool, _ invariant: @autoclosure () -> String) {
        if !condition {
            fatalError("invariant broken: \(invariant())")
        }
    }
}
