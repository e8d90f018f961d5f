#!/usr/bin/python3
"""Versioned-block writer for the crash tests, using libnbd (a real NBD client).

Block i at version v is 4096 bytes: a 24-byte header (magic, i, v) and a
payload derived from (i, v) by SHA-256 (sha256("i:v:k") for k = 0, 1, ...),
so a reader in any language can tell exactly which version a block holds
and whether it is intact. Writes go to random blocks with up to
DEPTH requests in flight, never two at once to the same block (so the last
acknowledged version of a block is well defined). Every acknowledged write
is printed as "ack <block> <version>" and flushed immediately; the writer
stops at the first error (the daemon was killed) and exits 0.

usage: nbd_pattern_writer.py URI BLOCKS DEPTH SEED STATE_JSON [MAX_WRITES [KILL_PID KILL_AT_ACK]]
STATE_JSON maps block -> the version currently on the disk; new versions
continue from there. With KILL_PID, the writer itself sends SIGKILL to that
process the moment it receives acknowledgement number KILL_AT_ACK: the
crash lands right behind an acknowledgement, with requests in flight.
"""
import hashlib
import json
import os
import random
import signal
import struct
import sys

import nbd

BLOCK = 4096
MAGIC = 0x4D415253424C4B31  # "MARSBLK1"


def block_bytes(index, version):
    header = struct.pack("<QQQ", MAGIC, index, version)
    payload = b"".join(hashlib.sha256(b"%d:%d:%d" % (index, version, k)).digest() for k in range(128))
    return header + payload[: BLOCK - len(header)]


def main():
    uri, blocks, depth, seed, state_path = sys.argv[1:6]
    max_writes = int(sys.argv[6]) if len(sys.argv) > 6 else 1 << 62
    kill_pid = int(sys.argv[7]) if len(sys.argv) > 8 else 0
    kill_at = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    blocks, depth = int(blocks), int(depth)
    with open(state_path) as f:
        version = {int(k): v for k, v in json.load(f).items()}
    rng = random.Random(int(seed))
    h = nbd.NBD()
    h.connect_uri(uri)
    in_flight = {}
    failed = []
    issued = 0
    acks = [0]
    out = sys.stdout

    def completed(index, v, error):
        del in_flight[index]
        if error.value != 0:
            failed.append(error.value)
        else:
            version[index] = v
            acks[0] += 1
            if kill_pid and acks[0] == kill_at:
                os.kill(kill_pid, signal.SIGKILL)
            out.write("ack %d %d\n" % (index, v))
            out.flush()
        return 1

    try:
        while not failed and issued < max_writes:
            while len(in_flight) >= depth and not failed:
                h.poll(-1)
            if failed:
                break
            index = rng.randrange(blocks)
            if index in in_flight:
                h.poll(0)
                continue
            v = version.get(index, 0) + 1
            buf = nbd.Buffer.from_bytearray(bytearray(block_bytes(index, v)))
            in_flight[index] = v
            h.aio_pwrite(buf, index * BLOCK, completion=lambda err, i=index, v=v: completed(i, v, err))
            issued += 1
        while in_flight and not failed:
            h.poll(-1)
    except nbd.Error as e:
        sys.stderr.write("writer stopped: %s\n" % e)
    out.write("done\n")
    out.flush()


if __name__ == "__main__":
    main()
