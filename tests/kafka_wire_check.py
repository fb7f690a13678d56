#!/usr/bin/python3
"""tests/kafka_wire_check.py: raw Kafka requests to one broker, for what kcat
and librdkafka cannot be made to send (t0300-kafka-broker.sh): ApiVersions
of every version and one too new, framing (a request split in pieces, several
in one write, acks=0), requests the client library refuses to build (CreateTopics
with 0 partitions, an illegal name), and partition requests sent to a broker
that does not lead the partition.  Requests are encoded with python3-kafka's
classes, as a Kafka client would; the answers are decoded here by hand or
with those classes, and printed one fact a line.

Usage: kafka_wire_check.py PORT COMMAND [ARGS...]
  apiversions                 -> "vN error=E apis=K:MIN-MAX,..." for v0..v3,
                                 then the same for v9 (unsupported)
  framing                     -> "split corr=C error=E", "pipelined corrs=...",
                                 "acks0 corrs=..."
  badversion                  -> "closed" when a Metadata v99 request makes the
                                 broker close the connection
  create NAME PARTITIONS RF   -> "error=E message=M" (CreateTopics v3)
  produce TOPIC PARTITION VALUE -> "error=E offset=O" (Produce v7, acks=1)
  fetch TOPIC PARTITION OFFSET MAX_WAIT_MS [PRODUCE_AFTER_MS]
                              -> "error=E hwm=H records=N elapsed_ms=T"
                                 (Fetch v11, min_bytes 1; with PRODUCE_AFTER_MS
                                 another connection produces one record then)
  offsets TOPIC PARTITION     -> "earliest=E latest=L" (ListOffsets v1)
"""

import socket
import struct
import sys
import threading
import time

from kafka.protocol import admin, fetch, metadata, offset, produce
from kafka.protocol.api import RequestHeader
from kafka.record.default_records import DefaultRecordBatchBuilder


def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def frame(req, corr, client='wire-check'):
    head = RequestHeader(req, correlation_id=corr, client_id=client)
    body = head.encode() + req.encode()
    return struct.pack('>i', len(body)) + body


def read_exact(s, n):
    out = b''
    while len(out) < n:
        c = s.recv(n - len(out))
        if not c:
            raise EOFError('connection closed')
        out += c
    return out


def read_frame(s):
    (n,) = struct.unpack('>i', read_exact(s, 4))
    data = read_exact(s, n)
    return struct.unpack_from('>i', data)[0], data[4:]


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def read_uvarint(b, pos):
    shift = n = 0
    while True:
        c = b[pos]
        pos += 1
        n |= (c & 0x7f) << shift
        if not c & 0x80:
            return n, pos
        shift += 7


def apiversions(port):
    s = connect(port)
    for v in (0, 1, 2, 3, 9):
        if v < 3:
            req = getattr(admin, 'ApiVersionRequest_v%d' % v)()
            s.sendall(frame(req, 100 + v))
        else:
            # header v2 + flexible body: compact strings and tagged fields
            body = struct.pack('>hhih', 18, v, 100 + v, 10) + b'wire-check' + uvarint(0)
            body += uvarint(len('wire-check') + 1) + b'wire-check'
            body += uvarint(len('1.0') + 1) + b'1.0' + uvarint(0)
            s.sendall(struct.pack('>i', len(body)) + body)
        corr, data = read_frame(s)
        assert corr == 100 + v, corr
        (err,) = struct.unpack_from('>h', data, 0)
        apis = []
        if v == 3:
            n, pos = read_uvarint(data, 2)
            for _ in range(n - 1):
                apis.append(struct.unpack_from('>hhh', data, pos))
                pos += 6
                _tags, pos = read_uvarint(data, pos)
            (throttle,) = struct.unpack_from('>i', data, pos)
            pos += 4
            _tags, pos = read_uvarint(data, pos)
            assert pos == len(data), 'trailing bytes in v3 response'
        else:
            # v0 layout (also what an unsupported version is answered in)
            (n,) = struct.unpack_from('>i', data, 2)
            for i in range(n):
                apis.append(struct.unpack_from('>hhh', data, 6 + 6 * i))
            pos = 6 + 6 * n
            if v in (1, 2):
                pos += 4    # throttle_time_ms
            assert pos == len(data), 'length mismatch in v%d response' % v
        print('v%d error=%d apis=%s' % (v, err, ','.join('%d:%d-%d' % a for a in apis)))


def framing(port):
    s = connect(port)
    req = metadata.MetadataRequest_v1(topics=None)
    raw = frame(req, 7)
    for i in range(len(raw)):                   # one byte at a time
        s.sendall(raw[i:i + 1])
        if i % 5 == 0:
            time.sleep(0.002)
    corr, data = read_frame(s)
    resp = metadata.MetadataResponse_v1.decode(data)
    print('split corr=%d brokers=%d' % (corr, len(resp.brokers)))
    # five requests in one write, answered in order
    reqs = [metadata.MetadataRequest_v1(topics=None), admin.ApiVersionRequest_v0(),
            metadata.MetadataRequest_v0(topics=[]), admin.ApiVersionRequest_v1(),
            metadata.MetadataRequest_v5(topics=None, allow_auto_topic_creation=False)]
    s.sendall(b''.join(frame(r, 20 + i) for i, r in enumerate(reqs)))
    print('pipelined corrs=%s' % ','.join(str(read_frame(s)[0]) for _ in reqs))
    s.close()


def badversion(port):
    s = connect(port)
    body = struct.pack('>hhih', 3, 99, 1, 1) + b'x' + struct.pack('>i', -1)
    s.sendall(struct.pack('>i', len(body)) + body)
    try:
        read_frame(s)
        print('answered')
    except (EOFError, ConnectionResetError):
        print('closed')


def create(port, name, parts, rf):
    s = connect(port)
    req = admin.CreateTopicsRequest_v3(create_topic_requests=[
        (name, int(parts), int(rf), [], [])], timeout=5000, validate_only=False)
    s.sendall(frame(req, 1))
    _, data = read_frame(s)
    r = admin.CreateTopicsResponse_v3.decode(data)
    _topic, err, msg = r.topic_errors[0]
    print('error=%d message=%s' % (err, msg))


def produce_one(port, topic, part, value, acks=1, corr=1, s=None):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    b.append(0, timestamp=int(time.time() * 1000), key=None, value=value.encode(),
             headers=[])
    req = produce.ProduceRequest_v7(transactional_id=None, required_acks=acks, timeout=5000,
                                    topics=[(topic, [(int(part), bytes(b.build()))])])
    own = s is None
    s = s or connect(port)
    s.sendall(frame(req, corr))
    if acks == 0:
        return None
    _, data = read_frame(s)
    r = produce.ProduceResponse_v7.decode(data)
    if own:
        s.close()
    _p, err, off, _ts, _lso = r.topics[0][1][0]
    return err, off


def acks0(port, topic, part):
    s = connect(port)
    produce_one(port, topic, part, 'acks0', acks=0, corr=1, s=s)
    s.sendall(frame(metadata.MetadataRequest_v1(topics=[]), 2))
    print('acks0 corrs=%d' % read_frame(s)[0])


def fetch_cmd(port, topic, part, off, max_wait, produce_after=None):
    if produce_after is not None:
        def later():
            time.sleep(int(produce_after) / 1000.0)
            produce_one(port, topic, part, 'late')
        threading.Thread(target=later, daemon=True).start()
    s = connect(port)
    req = fetch.FetchRequest_v11(
        replica_id=-1, max_wait_time=int(max_wait), min_bytes=1, max_bytes=1 << 20,
        isolation_level=0, session_id=0, session_epoch=-1,
        topics=[(topic, [(int(part), -1, int(off), -1, 1 << 20)])],
        forgotten_topics_data=[], rack_id='')
    t0 = time.monotonic()
    s.sendall(frame(req, 1))
    _, data = read_frame(s)
    elapsed = (time.monotonic() - t0) * 1000
    r = fetch.FetchResponse_v11.decode(data)
    p = r.topics[0][1][0]
    err, hwm, records = p[1], p[2], p[-1]
    n = 0
    if records:
        from kafka.record.memory_records import MemoryRecords
        mr = MemoryRecords(records)
        while mr.has_next():
            n += sum(1 for _ in mr.next_batch())
    print('error=%d hwm=%d records=%d elapsed_ms=%d' % (err, hwm, n, elapsed))


def offsets(port, topic, part):
    s = connect(port)
    out = []
    for ts in (-2, -1):
        req = offset.OffsetRequest_v1(replica_id=-1, topics=[(topic, [(int(part), ts)])])
        s.sendall(frame(req, 1))
        _, data = read_frame(s)
        r = offset.OffsetResponse_v1.decode(data)
        _p, err, _ts, off = r.topics[0][1][0]
        out.append(off if not err else 'error%d' % err)
    print('earliest=%s latest=%s' % tuple(out))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    port, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if cmd == 'apiversions':
        apiversions(port)
    elif cmd == 'framing':
        framing(port)
        acks0(port, *args)
    elif cmd == 'badversion':
        badversion(port)
    elif cmd == 'create':
        create(port, *args)
    elif cmd == 'produce':
        print('error=%d offset=%d' % produce_one(port, *args))
    elif cmd == 'fetch':
        fetch_cmd(port, *args)
    elif cmd == 'offsets':
        offsets(port, *args)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
