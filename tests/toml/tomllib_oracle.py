#!/usr/bin/env python3
"""Reads TOML documents and prints what Python's tomllib makes of them, for the Swift
parser's differential tests (Tests/RolloutTOMLTests).

Input (the file named by the first argument, or standard input): one document per line,
as the hex of its UTF-8 bytes. Output: one JSON line per document, in order:
  {"ok": true, "value": V}   or   {"ok": false, "error": "..."}
where V is the document in a canonical form that the Swift side writes too:
  ["string", hex of UTF-8]   ["integer", decimal]   ["float", 16 hex digits of the IEEE bits]
  ["boolean", "true"/"false"]   ["datetime", iso]   ["datetime-local", iso]
  ["date-local", iso]   ["time-local", iso]   ["array", [V, ...]]
  ["table", [[hex key, V], ...]]  (keys sorted by their UTF-8 bytes)
Dates and times are Python's isoformat: fractions truncated to microseconds (and left out when
zero), offsets as +HH:MM (Z is +00:00).

tomllib accepts integers of any size; TOML 1.0 requires an error outside the 64-bit range,
so such a document is reported invalid here.
"""
import datetime
import json
import struct
import sys
import tomllib

INT64 = range(-(2**63), 2**63)


class OutOfRange(Exception):
    pass


def canonical(value):
    if isinstance(value, bool):
        return ["boolean", "true" if value else "false"]
    if isinstance(value, int):
        if value not in INT64:
            raise OutOfRange("integer out of the 64-bit range")
        return ["integer", str(value)]
    if isinstance(value, float):
        return ["float", struct.pack(">d", value).hex()]
    if isinstance(value, str):
        return ["string", value.encode("utf-8").hex()]
    if isinstance(value, datetime.datetime):
        kind = "datetime-local" if value.tzinfo is None else "datetime"
        return [kind, value.isoformat()]
    if isinstance(value, datetime.date):
        return ["date-local", value.isoformat()]
    if isinstance(value, datetime.time):
        return ["time-local", value.isoformat()]
    if isinstance(value, list):
        return ["array", [canonical(element) for element in value]]
    if isinstance(value, dict):
        entries = sorted((key.encode("utf-8").hex(), canonical(item)) for key, item in value.items())
        return ["table", [[key, item] for key, item in entries]]
    raise TypeError(f"unexpected {type(value).__name__}")


def judge(text):
    try:
        return {"ok": True, "value": canonical(tomllib.loads(text))}
    except (tomllib.TOMLDecodeError, OutOfRange) as error:
        return {"ok": False, "error": str(error)}


def main():
    source = open(sys.argv[1], encoding="ascii") if len(sys.argv) > 1 else sys.stdin
    with source:
        for line in source:
            text = bytes.fromhex(line.strip()).decode("utf-8")
            print(json.dumps(judge(text), separators=(",", ":")), flush=False)


if __name__ == "__main__":
    main()
