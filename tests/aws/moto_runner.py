"""Runs a moto server on a free loopback port for the AWS tests.

Prints the port on the first stdout line once the server accepts connections, then serves
until SIGTERM/SIGINT or, with --exit-on-stdin-eof, until stdin closes (the parent died).
"""
import argparse
import logging
import os
import signal
import sys
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.exit_on_stdin_eof:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                done.set()
        threading.Thread(target=watch, daemon=True).start()
    done.wait()
    os._exit(0)


if __name__ == "__main__":
    main()
