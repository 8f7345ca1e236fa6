extension Configuration {
    /// `[server.http]`: the optional HTTP/1.1 listener for `/metrics`, `/livez` and `/readyz`
    /// (SPEC §6.1). Absent: no TCP port is opened at all.
    public struct HTTP: Sendable, Hashable {
        /// `listen`: `host:port` to serve on; an IPv4 address, `localhost`, or an IPv6 address in
        /// brackets (`[::1]:9464`). Port 1...65535. Required when `[server.http]` is present.
        /// A non-loopback address is allowed and logged as a warning at startup.
        public var listen: ListenAddress

        /// A `[server.http]` section listening on `listen`.
        public init(listen: ListenAddress) {
            self.listen = listen
        }
    }

    /// A TCP address to listen on, as written in `[server.http] listen`.
    public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
        /// The host without brackets: an IPv4 or IPv6 literal, or `localhost`.
        public var host: String
        /// The TCP port, 1...65535.
        public var port: Int

        /// An address; `host` is written without brackets.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Whether only this machine can reach the address: `localhost`, `127.0.0.0/8` or `::1`.
        public var isLoopback: Bool {
            if host == "localhost" || host == "::1" { return true }
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets[0] == "127"
        }

        /// `host:port`, with the host in brackets when it is an IPv6 literal.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
