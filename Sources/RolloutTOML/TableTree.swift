/// The tables of a document while it is parsed: mutable nodes in an arena, each remembering
/// how it was defined, which decides whether a later header or dotted key may add to it.
///
/// Inline tables and arrays are finished values as soon as they are parsed, so nothing can
/// add to them; tables made by headers and dotted keys stay nodes until ``freeze(_:)``.
struct TableTree {
    /// How a table came to be.
    enum Origin: Equatable {
        /// Created as a parent of a header's table (`a` for `[a.b]`): a header may still
        /// define it once, and dotted keys may add to it.
        case implicit
        /// Defined by a `[header]` or `[[header]]`, or the root: only its own section may add to it.
        case header
        /// Defined by dotted keys (`a.b = 1` defines `a`) in section `section`: further
        /// dotted keys of that section may add to it; no header may name it.
        case dotted(section: Int)
    }

    /// What a key of a node holds.
    enum Slot {
        case value(TOMLValue)
        /// A table node.
        case table(Int)
        /// An array of tables: an index into ``lists``.
        case tables(Int)
    }

    struct Node {
        var names: [String] = []
        var slots: [Slot] = []
        /// Position of each key in `names` and `slots`.
        var index: [Key: Int] = [:]
        var origin: Origin
        /// Tables and arrays around it (the root is 0).
        var depth: Int
    }

    static let root = 0

    private(set) var nodes = [Node(origin: .header, depth: 0)]
    /// The element nodes of each array of tables.
    private var lists: [[Int]] = []

    func depth(of node: Int) -> Int { nodes[node].depth }

    func origin(of node: Int) -> Origin { nodes[node].origin }

    mutating func setOrigin(_ origin: Origin, of node: Int) {
        nodes[node].origin = origin
    }

    /// What `key` of `node` holds, if anything.
    func slot(_ key: Key, in node: Int) -> Slot? {
        nodes[node].index[key].map { nodes[node].slots[$0] }
    }

    /// The last element of an array of tables.
    func lastTable(of list: Int) -> Int {
        lists[list][lists[list].count - 1]
    }

    /// A new, empty table node (not yet in any table).
    mutating func makeNode(depth: Int, origin: Origin) -> Int {
        nodes.append(Node(origin: origin, depth: depth))
        return nodes.count - 1
    }

    /// Adds `key` (not yet in `node`) holding `slot`.
    mutating func add(_ slot: Slot, at key: Key, to node: Int) {
        nodes[node].index[key] = nodes[node].slots.count
        nodes[node].names.append(key.string)
        nodes[node].slots.append(slot)
    }

    /// Adds `key` (not yet in `node`) holding a new array of tables with one element.
    mutating func addList(first element: Int, at key: Key, to node: Int) {
        lists.append([element])
        add(.tables(lists.count - 1), at: key, to: node)
    }

    /// Appends a table to an array of tables.
    mutating func append(_ element: Int, toList list: Int) {
        lists[list].append(element)
    }

    /// The finished table of `node` and everything under it.
    func freeze(_ node: Int) -> TOMLTable {
        let values = nodes[node].slots.map { slot -> TOMLValue in
            switch slot {
            case .value(let value): value
            case .table(let child): .table(freeze(child))
            case .tables(let list): .array(lists[list].map { .table(freeze($0)) })
            }
        }
        return TOMLTable(keys: nodes[node].names, values: values, index: nodes[node].index)
    }

    /// Drops `node` and every node made after it (an inline table's, once frozen).
    mutating func discard(from node: Int) {
        nodes.removeSubrange(node...)
    }
}
