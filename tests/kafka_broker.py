#!/usr/bin/python3
"""tests/kafka_broker.py: a Kafka cluster of 1-N brokers in one process, for tests.

No Kafka broker can be installed here, and librdkafka's mock cluster does not
answer the admin requests (CreateTopics, CreatePartitions, DescribeConfigs,
AlterConfigs), so this fixture speaks the Kafka wire protocol on loopback.
The encoding of requests and responses is python3-kafka's (Debian 2.0.2:
kafka.protocol.* schemas and types, kafka.record.* for record batches).
Written here, in its style: three response schemas python3-kafka gets wrong
(FIXED SCHEMAS), and the flexible (KIP-482) versions it lacks that a client
needs to behave as against a current Kafka: ApiVersions v3 (what librdkafka
sends first), OffsetFetch v4-v7 and ListGroups v3-v4 (FLEXIBLE VERSIONS).
Its fidelity is checked with clients nobody here wrote: kcat and librdkafka's
admin API (tests/t0300-kafka-broker.sh, tests/kafka_admin_check.c).

APIs advertised by ApiVersions (key name min-max), exactly those implemented:
  0 Produce 3-7 (record batch v2 only: magic 0/1 message sets are refused)
  1 Fetch 4-11      2 ListOffsets 0-3     3 Metadata 0-5
  8 OffsetCommit 0-3   9 OffsetFetch 0-7  10 FindCoordinator 0-1
  11 JoinGroup 0-2  12 Heartbeat 0-1  13 LeaveGroup 0-1  14 SyncGroup 0-1
  15 DescribeGroups 0-3  16 ListGroups 0-4  18 ApiVersions 0-3
  19 CreateTopics 0-3  20 DeleteTopics 0-3  32 DescribeConfigs 0-2
  33 AlterConfigs 0-1  37 CreatePartitions 0-1  42 DeleteGroups 0-1
An ApiVersions request of a newer version is answered in the v0 layout with
UNSUPPORTED_VERSION and the ApiVersions range (KIP-511); any other request of
an unknown key or version closes the connection, as Kafka does.
IncrementalAlterConfigs is not offered: librdkafka 2.0.2 has no call for it.

It keeps real state in memory: topics, partitions with their logs (the record
batches as the producer sent them, offsets assigned by the broker), topic and
broker configs, consumer groups (a real group coordinator: members, generations,
the assignment the leader computed, session timeouts) and committed offsets.

CLI
  kafka_broker.py [--host 127.0.0.1] [--brokers N] [--ports P0,P1,...]
                  --port-file FILE [--control-port P] [--control-port-file FILE]
                  [--topics "orders:3,payments:1:2"] [--no-auto-create]
                  [--default-replication-factor R] [--num-partitions P]
                  [--group-initial-rebalance-delay-ms MS]
                  [--group-min-session-timeout-ms MS] [--cluster-id ID] [-v]

  --brokers N      brokers 0..N-1 (default 1), each on its own loopback port
                   (--ports, default 0 = a free port each).
  --port-file      written once everything listens: the broker ports, one per
                   line, in broker-id order (line 1 = broker 0).  The control
                   port file, if asked for, is written before it.
  --control-port   the HTTP control API (default 0 = a free port); its port is
                   written to --control-port-file.
  --topics         topics to create at start: NAME:PARTITIONS[:RF], comma
                   separated (RF default --default-replication-factor, capped
                   at N).
  --no-auto-create auto.create.topics.enable=false (default true, as Kafka):
                   a Metadata request naming an unknown topic otherwise creates
                   it with --num-partitions (1) and --default-replication-factor (1).
  --group-initial-rebalance-delay-ms  Kafka's group.initial.rebalance.delay.ms
                   (default 0 here; Kafka's is 3000).
  --group-min-session-timeout-ms  Kafka's group.min.session.timeout.ms (6000).

The cluster: broker ids 0..N-1 on --host.  A topic's partition p has replicas
[(s+p+i) % N for i < RF] where s rotates with each topic created (leaders spread
round robin); the leader is the first replica that is not down, isr = the
replicas that are not down.  The controller is the lowest broker that is not
down (broker 0 normally).  The coordinator of group G is the first live broker
of [(h+i) % N for i < min(3,N)] with h = abs(javaHashCode(G)) % 50, as the
leader of __consumer_offsets partition h would be.  Requests for a partition
sent to a broker that does not lead it answer NOT_LEADER_FOR_PARTITION, group
requests sent to a broker that does not coordinate the group NOT_COORDINATOR,
CreateTopics/CreatePartitions/DeleteTopics sent to a non-controller
NOT_CONTROLLER.

CONTROL API (HTTP on the control port; JSON in and out; never used by clients)
  GET  /ping                     -> "pong"
  GET  /_broker/state            -> {"cluster_id", "controller", "brokers":
                                     [{"id","host","port","paused","down"}],
                                     "topics": {NAME: {"configs": {overrides},
                                       "partitions": [{"partition","leader",
                                       "replicas","isr","log_start_offset",
                                       "high_watermark"}]}},
                                     "groups": {ID: {"state","generation",
                                       "protocol_type","protocol","leader",
                                       "coordinator","members":[...],
                                       "offsets": {"TOPIC:PARTITION": OFFSET}}}}
  GET  /_broker/knobs            -> {"pause": [ids], "down": [ids]}
  POST /_broker/knobs  {"pause": [0], "down": [1]}
                                 -> sets each list given (absent = unchanged,
                                    [] = none); answers the knobs now in force.
       pause: the broker accepts connections and reads requests but answers
              nothing (clients time out) until unpaused; then it answers the
              requests it read, in order.  Metadata still lists it.
       down:  the broker closes its listening socket and every connection
              (connects are refused); Metadata from the others leaves it out,
              partitions it led move to the next live replica (or get leader
              -1, LEADER_NOT_AVAILABLE), groups it coordinated move too.
              Taking it out of "down" listens again on the same port.
  GET  /_broker/stats            -> {"requests": {"BROKER/ApiName": count}}
  DELETE /_broker/stats          -> resets those counts
  GET  /_broker/records?topic=T&partition=P[&offset=O][&limit=N]
                                 -> [{"offset","timestamp","timestamp_type",
                                      "key","value","headers"}]  (key/value
                                     base64, null for null)
  POST /_broker/delete-records {"topic": T, "partition": P, "offset": O}
                                 -> moves the log start offset to O (as
                                    Kafka's DeleteRecords), drops whole batches
                                    below it; answers {"log_start_offset": O}

Emulated topic configs: max.message.bytes (MESSAGE_TOO_LARGE),
message.timestamp.type=LogAppendTime (the broker stamps the batch),
min.insync.replicas (acks=-1 gets NOT_ENOUGH_REPLICAS when fewer replicas are
up).  The others are stored, validated and described only.

Not emulated: SASL/SSL, transactions and idempotence (no InitProducerId),
fetch sessions (session id 0 is always answered: every fetch is a full one),
leader epochs (Metadata stops at v5), static membership and
MEMBER_ID_REQUIRED (JoinGroup stops at v2), replication delays (a write is on
every replica at once), retention and compaction (nothing is deleted but by
the delete-records knob), offsets retention, recompression to the topic's
compression.type (batches are kept as the producer sent them; snappy, lz4
and zstd batches are CRC-checked but not decoded, python3 having no codec),
__consumer_offsets as a visible topic, a delay before a returning broker
leads again (it does at once), the APIs not listed above (DeleteRecords,
OffsetDelete, DescribeLogDirs, ElectLeaders, ACLs, quotas...), rack
awareness, dynamic broker configs changing topic defaults.
"""

import argparse
import base64
import bisect
import http.server
import io
import json
import logging
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

from kafka.protocol import admin as _admin
from kafka.protocol import commit as _commit
from kafka.protocol import fetch as _fetch
from kafka.protocol import group as _group
from kafka.protocol import metadata as _metadata
from kafka.protocol import offset as _offset
from kafka.protocol import produce as _produce
from kafka.protocol.abstract import AbstractType
from kafka.protocol.api import Request, Response
from kafka.protocol.types import (Array, Boolean, Bytes, Int16, Int32, Int64,
                                  Schema, String)
from kafka.record.default_records import DefaultRecordBatch
from kafka.record.util import calc_crc32c
import kafka.codec

log = logging.getLogger('kafka_broker')

# --- error codes (Kafka's org.apache.kafka.common.protocol.Errors) ---------
NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_FOR_PARTITION = 6
MESSAGE_TOO_LARGE = 10
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
INVALID_TOPIC_EXCEPTION = 17
NOT_ENOUGH_REPLICAS = 19
INVALID_REQUIRED_ACKS = 21
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_CONFIG = 40
NOT_CONTROLLER = 41
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_RECORD = 87

# config sources (DescribeConfigs v1+)
SRC_DYNAMIC_TOPIC = 1
SRC_DYNAMIC_BROKER = 2
SRC_DYNAMIC_DEFAULT_BROKER = 3
SRC_STATIC_BROKER = 4
SRC_DEFAULT = 5

RES_TOPIC = 2
RES_BROKER = 4

OFFSETS_TOPIC_PARTITIONS = 50
MAX_FRAME = 100 * 1024 * 1024          # socket.request.max.bytes


# --- FIXED SCHEMAS ----------------------------------------------------------
# python3-kafka 2.0.2 has these wrong (checked against Kafka's
# clients/src/main/resources/common/message/*.json); the fields are its types.

class FindCoordinatorResponse_v1(Response):
    # python3-kafka's GroupCoordinatorResponse_v1 lacks ThrottleTimeMs.
    API_KEY = 10
    API_VERSION = 1
    SCHEMA = Schema(
        ('throttle_time_ms', Int32),
        ('error_code', Int16),
        ('error_message', String('utf-8')),
        ('coordinator_id', Int32),
        ('host', String('utf-8')),
        ('port', Int32))


class DescribeGroupsResponse_v3(Response):
    # python3-kafka's v3 lacks AuthorizedOperations (added in v3).
    API_KEY = 15
    API_VERSION = 3
    SCHEMA = Schema(
        ('throttle_time_ms', Int32),
        ('groups', Array(
            ('error_code', Int16),
            ('group', String('utf-8')),
            ('state', String('utf-8')),
            ('protocol_type', String('utf-8')),
            ('protocol', String('utf-8')),
            ('members', Array(
                ('member_id', String('utf-8')),
                ('client_id', String('utf-8')),
                ('client_host', String('utf-8')),
                ('member_metadata', Bytes),
                ('member_assignment', Bytes))),
            ('authorized_operations', Int32))))


class DescribeConfigsResponse_v1(Response):
    # In v1 ConfigSource replaced IsDefault; python3-kafka's v1 still has
    # IsDefault.  v1 and v2 responses are the same.
    API_KEY = 32
    API_VERSION = 1
    SCHEMA = _admin.DescribeConfigsResponse_v2.SCHEMA


# --- FLEXIBLE VERSIONS ------------------------------------------------------
# python3-kafka 2.0.2 has no flexible (KIP-482) versions.  librdkafka 2.0.2
# needs two of them to behave as it does against a current Kafka: OffsetFetch
# v6+ (on v0-5 it asks for "all committed offsets" with an empty, not null,
# topic array, which Kafka answers with nothing) and ListGroups v4 (the group
# state).  These types write the compact encodings in python3-kafka's style,
# so those versions are Schemas like the others.

class CompactString(AbstractType):
    @classmethod
    def encode(cls, value):
        if value is None:
            return uvarint(0)
        b = value.encode('utf-8')
        return uvarint(len(b) + 1) + b

    @classmethod
    def decode(cls, data):
        n = decode_uvarint(data)
        if n == 0:
            return None
        b = data.read(n - 1)
        if len(b) != n - 1:
            raise ValueError('Buffer underrun decoding compact string')
        return b.decode('utf-8')


class CompactArray(Array):
    def encode(self, items):
        if items is None:
            return uvarint(0)
        return b''.join([uvarint(len(items) + 1)] +
                        [self.array_of.encode(item) for item in items])

    def decode(self, data):
        n = decode_uvarint(data)
        if n == 0:
            return None
        return [self.array_of.decode(data) for _ in range(n - 1)]


class TaggedFields(AbstractType):
    """Tagged fields: none written, any read is skipped."""
    @classmethod
    def encode(cls, value):
        return uvarint(0)

    @classmethod
    def decode(cls, data):
        for _ in range(decode_uvarint(data)):
            decode_uvarint(data)
            size = decode_uvarint(data)
            if len(data.read(size)) != size:
                raise ValueError('Buffer underrun decoding tagged fields')
        return None


def decode_uvarint(data):
    shift = n = 0
    while True:
        c = data.read(1)
        if not c:
            raise ValueError('Buffer underrun decoding varint')
        n |= (c[0] & 0x7f) << shift
        if not c[0] & 0x80:
            return n
        shift += 7
        if shift > 28:
            raise ValueError('varint too long')


def _flex(cls_name, key, version, schema, base):
    return type(cls_name, (base,), dict(API_KEY=key, API_VERSION=version, SCHEMA=schema))


def _offset_fetch(v):
    flex = v >= 6
    S, A = (CompactString, CompactArray) if flex else (String('utf-8'), Array)
    tag = [('tags', TaggedFields)] if flex else []
    req = [('consumer_group', S),
           ('topics', A(*([('topic', S), ('partitions', A(Int32))] + tag)))]
    if v >= 7:
        req.append(('require_stable', Boolean))
    parts = [('partition', Int32), ('offset', Int64)]
    if v >= 5:
        parts.append(('committed_leader_epoch', Int32))
    parts += [('metadata', S), ('error_code', Int16)] + tag
    resp = [('throttle_time_ms', Int32),
            ('topics', A(*([('topic', S), ('partitions', A(*parts))] + tag))),
            ('error_code', Int16)] + tag
    return (_flex('OffsetFetchRequest_v%d' % v, 9, v, Schema(*(req + tag)), Request),
            _flex('OffsetFetchResponse_v%d' % v, 9, v, Schema(*resp), Response))


def _list_groups(v):
    req = [('states_filter', CompactArray(CompactString))] if v >= 4 else []
    group = [('group', CompactString), ('protocol_type', CompactString)]
    if v >= 4:
        group.append(('group_state', CompactString))
    resp = [('throttle_time_ms', Int32), ('error_code', Int16),
            ('groups', CompactArray(*(group + [('tags', TaggedFields)]))),
            ('tags', TaggedFields)]
    return (_flex('ListGroupsRequest_v%d' % v, 16, v,
                  Schema(*(req + [('tags', TaggedFields)])), Request),
            _flex('ListGroupsResponse_v%d' % v, 16, v, Schema(*resp), Response))


FLEX = {}       # (api key, version) -> (request class, response class)
for _v in (4, 5, 6, 7):
    FLEX[(9, _v)] = _offset_fetch(_v)
for _v in (3, 4):
    FLEX[(16, _v)] = _list_groups(_v)
FLEXIBLE_FROM = {9: 6, 16: 3, 18: 3}    # first flexible version of each


def _pair(mod, req, resp, v, resp_cls=None):
    return (getattr(mod, '%s_v%d' % (req, v)),
            resp_cls or getattr(mod, '%s_v%d' % (resp, v)))


class Api(object):
    def __init__(self, key, name, lo, hi, mod, req, resp, fixed=None):
        self.key, self.name, self.lo, self.hi = key, name, lo, hi
        fixed = fixed or {}
        self.classes = {}
        if mod is not None:
            for v in range(lo, hi + 1):
                self.classes[v] = FLEX.get((key, v)) or _pair(mod, req, resp, v, fixed.get(v))


# The versions advertised by ApiVersions: exactly these are implemented.
APIS = [
    Api(0, 'Produce', 3, 7, _produce, 'ProduceRequest', 'ProduceResponse'),
    Api(1, 'Fetch', 4, 11, _fetch, 'FetchRequest', 'FetchResponse'),
    Api(2, 'ListOffsets', 0, 3, _offset, 'OffsetRequest', 'OffsetResponse'),
    Api(3, 'Metadata', 0, 5, _metadata, 'MetadataRequest', 'MetadataResponse'),
    Api(8, 'OffsetCommit', 0, 3, _commit, 'OffsetCommitRequest', 'OffsetCommitResponse'),
    Api(9, 'OffsetFetch', 0, 7, _commit, 'OffsetFetchRequest', 'OffsetFetchResponse'),
    Api(10, 'FindCoordinator', 0, 1, _commit, 'GroupCoordinatorRequest',
        'GroupCoordinatorResponse', {1: FindCoordinatorResponse_v1}),
    Api(11, 'JoinGroup', 0, 2, _group, 'JoinGroupRequest', 'JoinGroupResponse'),
    Api(12, 'Heartbeat', 0, 1, _group, 'HeartbeatRequest', 'HeartbeatResponse'),
    Api(13, 'LeaveGroup', 0, 1, _group, 'LeaveGroupRequest', 'LeaveGroupResponse'),
    Api(14, 'SyncGroup', 0, 1, _group, 'SyncGroupRequest', 'SyncGroupResponse'),
    Api(15, 'DescribeGroups', 0, 3, _admin, 'DescribeGroupsRequest',
        'DescribeGroupsResponse', {3: DescribeGroupsResponse_v3}),
    Api(16, 'ListGroups', 0, 4, _admin, 'ListGroupsRequest', 'ListGroupsResponse'),
    Api(18, 'ApiVersions', 0, 3, None, None, None),
    Api(19, 'CreateTopics', 0, 3, _admin, 'CreateTopicsRequest', 'CreateTopicsResponse'),
    Api(20, 'DeleteTopics', 0, 3, _admin, 'DeleteTopicsRequest', 'DeleteTopicsResponse'),
    Api(32, 'DescribeConfigs', 0, 2, _admin, 'DescribeConfigsRequest',
        'DescribeConfigsResponse', {1: DescribeConfigsResponse_v1}),
    Api(33, 'AlterConfigs', 0, 1, _admin, 'AlterConfigsRequest', 'AlterConfigsResponse'),
    Api(37, 'CreatePartitions', 0, 1, _admin, 'CreatePartitionsRequest',
        'CreatePartitionsResponse'),
    Api(42, 'DeleteGroups', 0, 1, _admin, 'DeleteGroupsRequest', 'DeleteGroupsResponse'),
]
API_BY_KEY = dict((a.key, a) for a in APIS)


# --- generic struct <-> dict ------------------------------------------------

def to_obj(t, v):
    if isinstance(t, Schema):
        return dict((n, to_obj(ft, v[i])) for i, (n, ft) in enumerate(zip(t.names, t.fields)))
    if isinstance(t, Array):
        return None if v is None else [to_obj(t.array_of, x) for x in v]
    return v


FIELD_DEFAULTS = {'throttle_time_ms': 0, 'error_message': None, 'tags': None}


def build(t, v):
    """dict (a superset of the fields of every version) -> tuple for t."""
    if isinstance(t, Schema):
        if isinstance(v, (tuple, list)):
            return tuple(v)
        out = []
        for n, ft in zip(t.names, t.fields):
            if n in v:
                out.append(build(ft, v[n]))
            elif n in FIELD_DEFAULTS:
                out.append(FIELD_DEFAULTS[n])
            else:
                raise KeyError('response field %r missing' % n)
        return tuple(out)
    if isinstance(t, Array):
        return None if v is None else [build(t.array_of, x) for x in v]
    return v


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf, pos):
    shift = n = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7f) << shift
        if not b & 0x80:
            return n, pos
        shift += 7
        if shift > 28:
            raise ValueError('varint too long')


def skip_tagged(buf, pos):
    n, pos = read_uvarint(buf, pos)
    for _ in range(n):
        _tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    if pos > len(buf):
        raise ValueError('tagged fields overrun')
    return pos


def read_compact_string(buf, pos):
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    s = bytes(buf[pos:pos + n - 1])
    if len(s) != n - 1:
        raise ValueError('compact string overrun')
    return s.decode('utf-8'), pos + n - 1


def java_hash(s):
    h = 0
    data = s.encode('utf-16-be')
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xffffffff
    return h - (1 << 32) if h >= 1 << 31 else h


TOPIC_RE = re.compile(r'^[a-zA-Z0-9._-]+$')


def topic_name_error(name):
    """Kafka's Topic.validate: the message, or None when valid."""
    if name is None or name == '':
        return 'Topic name is illegal, it can\'t be empty'
    if name in ('.', '..'):
        return 'Topic name cannot be "." or ".."'
    if len(name) > 249:
        return ('Topic name is illegal, it can\'t be longer than 249 characters, '
                'topic name: %s' % name)
    if not TOPIC_RE.match(name):
        return ('Topic name "%s" is illegal, it contains a character other than '
                'ASCII alphanumerics, \'.\', \'_\' and \'-\'' % name)
    return None


# --- configs ----------------------------------------------------------------
# (name, type, default, check, broker synonym, synonym default)
# check: None, a set of allowed values, or (min, max) for numbers.
L_MAX = '9223372036854775807'
TOPIC_CONFIGS = [
    ('cleanup.policy', 'list', 'delete', {'delete', 'compact'}, 'log.cleanup.policy', None),
    ('compression.type', 'string', 'producer',
     {'uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'}, 'compression.type', None),
    ('delete.retention.ms', 'long', '86400000', (0, None), 'log.cleaner.delete.retention.ms', None),
    ('file.delete.delay.ms', 'long', '60000', (0, None), 'log.segment.delete.delay.ms', None),
    ('flush.messages', 'long', L_MAX, (1, None), 'log.flush.interval.messages', None),
    ('flush.ms', 'long', L_MAX, (0, None), 'log.flush.interval.ms', None),
    ('follower.replication.throttled.replicas', 'list', '', None,
     'follower.replication.throttled.replicas', None),
    ('index.interval.bytes', 'int', '4096', (0, None), 'log.index.interval.bytes', None),
    ('leader.replication.throttled.replicas', 'list', '', None,
     'leader.replication.throttled.replicas', None),
    ('max.compaction.lag.ms', 'long', L_MAX, (1, None), 'log.cleaner.max.compaction.lag.ms', None),
    ('max.message.bytes', 'int', '1048588', (0, None), 'message.max.bytes', None),
    ('message.downconversion.enable', 'boolean', 'true', None, 'log.message.downconversion.enable', None),
    ('message.format.version', 'string', '3.0-IV1', None, 'log.message.format.version', None),
    ('message.timestamp.difference.max.ms', 'long', L_MAX, (0, None),
     'log.message.timestamp.difference.max.ms', None),
    ('message.timestamp.type', 'string', 'CreateTime', {'CreateTime', 'LogAppendTime'},
     'log.message.timestamp.type', None),
    ('min.cleanable.dirty.ratio', 'double', '0.5', (0, 1), 'log.cleaner.min.cleanable.ratio', None),
    ('min.compaction.lag.ms', 'long', '0', (0, None), 'log.cleaner.min.compaction.lag.ms', None),
    ('min.insync.replicas', 'int', '1', (1, None), 'min.insync.replicas', None),
    ('preallocate', 'boolean', 'false', None, 'log.preallocate', None),
    ('retention.bytes', 'long', '-1', None, 'log.retention.bytes', None),
    ('retention.ms', 'long', '604800000', (-1, None), 'log.retention.hours', '168'),
    ('segment.bytes', 'int', '1073741824', (14, None), 'log.segment.bytes', None),
    ('segment.index.bytes', 'int', '10485760', (4, None), 'log.index.size.max.bytes', None),
    ('segment.jitter.ms', 'long', '0', (0, None), 'log.roll.jitter.ms', None),
    ('segment.ms', 'long', '604800000', (1, None), 'log.roll.hours', '168'),
    ('unclean.leader.election.enable', 'boolean', 'false', None,
     'unclean.leader.election.enable', None),
]
TOPIC_CONFIG = dict((c[0], c) for c in TOPIC_CONFIGS)

TYPE_NAMES = {'long': 'LONG', 'int': 'INT', 'double': 'DOUBLE', 'boolean': 'BOOLEAN',
              'string': 'STRING', 'list': 'LIST'}


def check_config_value(spec, value):
    """Kafka's ConfigDef parse/validate: the error message or None."""
    name, typ, check = spec[0], spec[1], spec[3]
    bad = 'Invalid value %s for configuration %s: ' % (value, name)
    v = value.strip()
    if typ in ('long', 'int'):
        try:
            n = int(v)
        except ValueError:
            return bad + 'Not a number of type %s' % TYPE_NAMES[typ]
        lim = 63 if typ == 'long' else 31
        if not -(1 << lim) <= n < (1 << lim):
            return bad + 'Not a number of type %s' % TYPE_NAMES[typ]
        if isinstance(check, tuple):
            if check[0] is not None and n < check[0]:
                return bad + 'Value must be at least %s' % check[0]
            if check[1] is not None and n > check[1]:
                return bad + 'Value must be no more than %s' % check[1]
    elif typ == 'double':
        try:
            n = float(v)
        except ValueError:
            return bad + 'Not a number of type DOUBLE'
        if isinstance(check, tuple):
            if n < check[0] or n > check[1]:
                return bad + 'Value must be between %s and %s' % check
    elif typ == 'boolean':
        if v.lower() not in ('true', 'false'):
            return bad + 'Expected value to be either true or false'
    elif typ == 'string':
        if isinstance(check, set) and v not in check:
            return bad + 'String must be one of: %s' % ', '.join(sorted(check))
    elif typ == 'list':
        if isinstance(check, set):
            items = [x.strip() for x in v.split(',') if x.strip()]
            for x in items:
                if x not in check:
                    return ('Invalid value %s for configuration %s: The list of supported '
                            'values is [%s]' % (x, name, ', '.join(sorted(check))))
    return None


# broker configs: (name, default, read_only, sensitive, static)
# static: the value counts as set in server.properties (STATIC_BROKER_CONFIG).
def broker_config_table(cluster, b):
    lst = 'PLAINTEXT://%s:%d' % (cluster.host, b.port)
    return [
        ('advertised.listeners', lst, False, False, True),
        ('auto.create.topics.enable', 'true' if cluster.auto_create else 'false', True, False,
         not cluster.auto_create),
        ('background.threads', '10', False, False, False),
        ('broker.id', str(b.id), True, False, True),
        ('broker.rack', None, True, False, False),
        ('compression.type', 'producer', False, False, False),
        ('controlled.shutdown.enable', 'true', True, False, False),
        ('default.replication.factor', str(cluster.default_rf), True, False,
         cluster.default_rf != 1),
        ('delete.topic.enable', 'true', True, False, False),
        ('group.initial.rebalance.delay.ms', str(cluster.initial_delay_ms), True, False,
         cluster.initial_delay_ms != 3000),
        ('group.max.session.timeout.ms', str(cluster.max_session_ms), True, False, False),
        ('group.min.session.timeout.ms', str(cluster.min_session_ms), True, False,
         cluster.min_session_ms != 6000),
        ('listeners', lst, False, False, True),
        ('log.cleanup.policy', 'delete', False, False, False),
        ('log.dirs', '/var/lib/kafka/data-%d' % b.id, True, False, True),
        ('log.message.timestamp.type', 'CreateTime', False, False, False),
        ('log.retention.bytes', '-1', False, False, False),
        ('log.retention.hours', '168', True, False, False),
        ('log.retention.ms', None, False, False, False),
        ('log.segment.bytes', '1073741824', False, False, False),
        ('message.max.bytes', '1048588', False, False, False),
        ('min.insync.replicas', '1', False, False, False),
        ('num.io.threads', '8', False, False, False),
        ('num.network.threads', '3', False, False, False),
        ('num.partitions', str(cluster.num_partitions), True, False,
         cluster.num_partitions != 1),
        ('offsets.topic.num.partitions', str(OFFSETS_TOPIC_PARTITIONS), True, False, False),
        ('offsets.topic.replication.factor', str(min(3, len(cluster.brokers))), True, False,
         True),
        ('ssl.keystore.password', None, False, True, False),
        ('unclean.leader.election.enable', 'false', False, False, False),
    ]


# --- state ------------------------------------------------------------------

class Partition(object):
    def __init__(self, topic, index, replicas):
        self.topic, self.index, self.replicas = topic, index, list(replicas)
        self.bases = []       # base offset of each batch
        self.lasts = []       # last offset of each batch
        self.batches = []     # the batches, bytes, offsets assigned
        self.log_start = 0
        self.hwm = 0

    def find(self, offset):
        """index of the first batch whose last offset >= offset."""
        return bisect.bisect_left(self.lasts, offset)


class Topic(object):
    def __init__(self, name, partitions, configs):
        self.name, self.partitions, self.configs = name, partitions, dict(configs)

    def config(self, name):
        if name in self.configs:
            return self.configs[name]
        return TOPIC_CONFIG[name][2]


class Member(object):
    def __init__(self, mid, client_id, host, session_ms, rebalance_ms, protocols):
        self.id, self.client_id, self.host = mid, client_id, host
        self.session_ms, self.rebalance_ms = session_ms, rebalance_ms
        self.protocols = protocols
        self.assignment = b''
        self.last_hb = time.monotonic()
        self.awaiting_join = False
        self.join_result = None

    def metadata(self, proto):
        for name, meta in self.protocols:
            if name == proto:
                return meta
        return b''


class Group(object):
    def __init__(self, gid):
        self.id = gid
        self.state = 'Empty'
        self.generation = 0
        self.protocol_type = ''
        self.protocol = None
        self.leader = None
        self.members = {}     # insertion-ordered
        self.offsets = {}     # (topic, partition) -> (offset, metadata)
        self.join_deadline = 0
        self.initial_deadline = None

    def prepare_rebalance(self, now, delay_ms):
        initial = self.state == 'Empty'
        if self.state == 'CompletingRebalance':
            for m in self.members.values():
                m.assignment = b''
        self.state = 'PreparingRebalance'
        rto = max([m.rebalance_ms for m in self.members.values()] or [0])
        self.join_deadline = now + rto / 1000.0
        self.initial_deadline = now + delay_ms / 1000.0 if initial and delay_ms > 0 else None

    def select_protocol(self):
        members = list(self.members.values())
        cands = [n for n, _ in members[0].protocols
                 if all(any(n == x for x, _ in m.protocols) for m in members)]
        votes = dict((c, 0) for c in cands)
        for m in members:
            for n, _ in m.protocols:
                if n in votes:
                    votes[n] += 1
                    break
        return max(cands, key=lambda c: (votes[c], -cands.index(c)))

    def try_complete_join(self, now):
        """PreparingRebalance -> CompletingRebalance (or Empty) once every
        member rejoined or the rebalance timeout passed.  True if it moved."""
        if self.state != 'PreparingRebalance':
            return False
        if self.initial_deadline is not None and now < self.initial_deadline \
                and now < self.join_deadline:
            return False
        everyone = all(m.awaiting_join for m in self.members.values())
        if not everyone and now < self.join_deadline:
            return False
        for mid, m in list(self.members.items()):
            if not m.awaiting_join:
                log.info('group %s: member %s did not rejoin in time, removed', self.id, mid)
                del self.members[mid]
        self.generation += 1
        self.initial_deadline = None
        if not self.members:
            self.state = 'Empty'
            self.protocol = None
            self.leader = None
            return True
        self.protocol = self.select_protocol()
        if self.leader not in self.members:
            self.leader = next(iter(self.members))
        self.state = 'CompletingRebalance'
        everyone = [dict(member_id=m.id, member_metadata=m.metadata(self.protocol))
                    for m in self.members.values()]
        for m in self.members.values():
            m.awaiting_join = False
            m.last_hb = now
            m.join_result = dict(error_code=NONE, generation_id=self.generation,
                                 group_protocol=self.protocol, leader_id=self.leader,
                                 member_id=m.id,
                                 members=everyone if m.id == self.leader else [])
        log.info('group %s: generation %d, protocol %s, leader %s, %d member(s)',
                 self.id, self.generation, self.protocol, self.leader, len(self.members))
        return True

    def remove_member(self, mid, now, delay_ms):
        self.members.pop(mid, None)
        if self.leader == mid:
            self.leader = None
        if self.state in ('Stable', 'CompletingRebalance'):
            self.prepare_rebalance(now, delay_ms)
        self.try_complete_join(now)


class Broker(object):
    def __init__(self, bid, host, port):
        self.id, self.host, self.port = bid, host, port
        self.paused = False
        self.down = False
        self.lsock = None
        self.conns = set()


class Conn(object):
    def __init__(self, sock, addr, broker):
        self.sock, self.addr, self.broker = sock, addr, broker
        self.client_id = ''
        self.closed = False

    @property
    def client_host(self):
        return '/' + self.addr[0]


class CloseConnection(Exception):
    pass


# --- the cluster ------------------------------------------------------------

class Cluster(object):
    def __init__(self, args):
        self.host = args.host
        self.cluster_id = args.cluster_id
        self.auto_create = not args.no_auto_create
        self.default_rf = args.default_replication_factor
        self.num_partitions = args.num_partitions
        self.initial_delay_ms = args.group_initial_rebalance_delay_ms
        self.min_session_ms = args.group_min_session_timeout_ms
        self.max_session_ms = 1800000
        self.verbose = args.verbose
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.topics = {}
        self.groups = {}
        self.topic_counter = 0
        self.broker_overrides = {}    # broker id -> {name: value}
        self.default_overrides = {}   # cluster-wide dynamic defaults
        self.stats = {}
        ports = [int(p) for p in args.ports.split(',')] if args.ports else []
        self.brokers = [Broker(i, self.host, ports[i] if i < len(ports) else 0)
                        for i in range(args.brokers)]
        self.handlers = {
            0: self.h_produce, 1: self.h_fetch, 2: self.h_list_offsets,
            3: self.h_metadata, 8: self.h_offset_commit, 9: self.h_offset_fetch,
            10: self.h_find_coordinator, 11: self.h_join_group, 12: self.h_heartbeat,
            13: self.h_leave_group, 14: self.h_sync_group, 15: self.h_describe_groups,
            16: self.h_list_groups, 19: self.h_create_topics, 20: self.h_delete_topics,
            32: self.h_describe_configs, 33: self.h_alter_configs,
            37: self.h_create_partitions, 42: self.h_delete_groups,
        }

    # ---- cluster view
    def live(self, bid):
        return 0 <= bid < len(self.brokers) and not self.brokers[bid].down

    def controller(self):
        for b in self.brokers:
            if not b.down:
                return b.id
        return -1

    def leader(self, p):
        for r in p.replicas:
            if self.live(r):
                return r
        return -1

    def isr(self, p):
        return [r for r in p.replicas if self.live(r)]

    def coordinator(self, gid):
        h = java_hash(gid)
        h = 0 if h == -(1 << 31) else abs(h)
        part = h % OFFSETS_TOPIC_PARTITIONS
        n = len(self.brokers)
        for i in range(min(3, n)):
            bid = (part + i) % n
            if self.live(bid):
                return bid
        return -1

    def new_topic(self, name, nparts, rf, configs, assignment=None):
        n = len(self.brokers)
        start = self.topic_counter % n
        self.topic_counter += 1
        if assignment is None:
            assignment = [[(start + p + i) % n for i in range(rf)] for p in range(nparts)]
        t = Topic(name, [], configs)
        t.start = start
        t.partitions = [Partition(name, p, r) for p, r in enumerate(assignment)]
        with self.lock:
            self.topics[name] = t
            self.cond.notify_all()
        log.info('topic %s created: %d partition(s), replicas %s, configs %s',
                 name, len(assignment), assignment, configs)
        return t

    def partition_for(self, conn, topic, index):
        """(Partition, error) for a request on conn's broker."""
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None, UNKNOWN_TOPIC_OR_PARTITION
        p = t.partitions[index]
        if self.leader(p) != conn.broker.id:
            return p, NOT_LEADER_FOR_PARTITION
        return p, NONE

    # ---- frames
    def handle_frame(self, conn, data):
        if len(data) < 8:
            raise CloseConnection('short request header')
        api_key, version, corr = struct.unpack_from('>hhi', data, 0)
        api = API_BY_KEY.get(api_key)
        name = api.name if api else 'Unknown%d' % api_key
        key = '%d/%s' % (conn.broker.id, name)
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + 1
        if api_key == 18:
            return struct.pack('>i', corr) + self.api_versions(conn, version, data)
        if api is None or not api.lo <= version <= api.hi:
            raise CloseConnection('unsupported request %s v%d' % (name, version))
        flexible = version >= FLEXIBLE_FROM.get(api_key, 1 << 15)
        buf = io.BytesIO(data)
        buf.seek(8)
        try:
            conn.client_id = String('utf-8').decode(buf) or ''
            if flexible:
                TaggedFields.decode(buf)        # request header v2
            req_cls, resp_cls = api.classes[version]
            req = req_cls.decode(buf)
        except Exception as e:
            raise CloseConnection('cannot parse %s v%d: %r' % (name, version, e))
        obj = to_obj(req_cls.SCHEMA, [req.__dict__[n] for n in req_cls.SCHEMA.names])
        if self.verbose:
            log.debug('broker %d <- %s v%d corr %d from %s %s: %s', conn.broker.id, name,
                      version, corr, conn.client_id, conn.addr, _short(obj))
        result = self.handlers[api_key](conn, version, obj)
        if result is None:
            return None
        body = resp_cls.SCHEMA.encode(build(resp_cls.SCHEMA, result))
        # response header v1 (tagged fields) for flexible versions
        return struct.pack('>i', corr) + (uvarint(0) if flexible else b'') + body

    # ---- ApiVersions (v0-2 python3-kafka's classes; v3 flexible, by hand)
    def api_versions(self, conn, version, data):
        api = API_BY_KEY[18]
        if not api.lo <= version <= api.hi:
            # KIP-511: answer in v0 with UNSUPPORTED_VERSION and the
            # ApiVersions range, so the client retries with a version we have.
            return (struct.pack('>h', UNSUPPORTED_VERSION) +
                    _admin.ApiVersionResponse_v0.SCHEMA.fields[1].encode([(18, api.lo, api.hi)]))
        keys = [(a.key, a.lo, a.hi) for a in APIS]
        if version < 3:
            cls = getattr(_admin, 'ApiVersionResponse_v%d' % version)
            return cls.SCHEMA.encode(build(cls.SCHEMA, dict(error_code=NONE, api_versions=keys)))
        # v3: request header v2 (client id + tagged fields), compact body
        err = NONE
        try:
            pos = 8
            (n,) = struct.unpack_from('>h', data, pos)
            pos += 2
            if n > 0:
                conn.client_id = data[pos:pos + n].decode('utf-8')
                pos += n
            pos = skip_tagged(data, pos)
            sw_name, pos = read_compact_string(data, pos)
            sw_ver, pos = read_compact_string(data, pos)
            pos = skip_tagged(data, pos)
            ok = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$')
            if not (sw_name and ok.match(sw_name) and sw_ver and ok.match(sw_ver)):
                err = INVALID_REQUEST
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            err = INVALID_REQUEST
        out = [struct.pack('>h', err), uvarint(len(keys) + 1)]
        for k, lo, hi in keys:
            out.append(struct.pack('>hhh', k, lo, hi) + uvarint(0))
        out.append(struct.pack('>i', 0) + uvarint(0))
        return b''.join(out)

    # ---- Metadata
    def h_metadata(self, conn, v, r):
        want = r['topics']
        if v == 0 and want == []:
            want = None
        allow = r.get('allow_auto_topic_creation', True)
        with self.lock:
            names = sorted(self.topics) if want is None else want
            out = []
            for name in names:
                t = self.topics.get(name)
                if t is None:
                    if topic_name_error(name):
                        err = INVALID_TOPIC_EXCEPTION
                    elif allow and self.auto_create and want is not None and self.controller() >= 0:
                        self.new_topic(name, self.num_partitions,
                                       min(self.default_rf, len(self.brokers)), {})
                        err = LEADER_NOT_AVAILABLE
                    else:
                        err = UNKNOWN_TOPIC_OR_PARTITION
                    out.append(dict(error_code=err, topic=name, is_internal=False, partitions=[]))
                    continue
                parts = []
                for p in t.partitions:
                    ld = self.leader(p)
                    parts.append(dict(
                        error_code=NONE if ld >= 0 else LEADER_NOT_AVAILABLE,
                        partition=p.index, leader=ld, replicas=p.replicas, isr=self.isr(p),
                        offline_replicas=[x for x in p.replicas if not self.live(x)]))
                out.append(dict(error_code=NONE, topic=name, is_internal=False, partitions=parts))
            brokers = [dict(node_id=b.id, host=b.host, port=b.port, rack=None)
                       for b in self.brokers if not b.down]
            return dict(brokers=brokers, cluster_id=self.cluster_id,
                        controller_id=self.controller(), topics=out)

    # ---- Produce
    def h_produce(self, conn, v, r):
        acks = r['required_acks']
        now_ms = int(time.time() * 1000)
        res = []
        with self.lock:
            for tp in r['topics']:
                parts = []
                for pp in tp['partitions']:
                    d = dict(partition=pp['partition'], offset=-1, timestamp=-1,
                             log_start_offset=-1)
                    d['error_code'] = self.append(conn, tp['topic'], pp['partition'],
                                                  pp['messages'], acks, now_ms, d)
                    parts.append(d)
                res.append(dict(topic=tp['topic'], partitions=parts))
            self.cond.notify_all()
        if acks == 0:
            return None
        return dict(topics=res)

    def append(self, conn, topic, index, records, acks, now_ms, d):
        if acks not in (0, 1, -1):
            return INVALID_REQUIRED_ACKS
        p, err = self.partition_for(conn, topic, index)
        if err:
            return err
        t = self.topics[topic]
        if acks == -1 and len(self.isr(p)) < int(t.config('min.insync.replicas')):
            return NOT_ENOUGH_REPLICAS
        if not records or len(records) < 61:
            return INVALID_RECORD if not records else CORRUPT_MESSAGE
        (blen,) = struct.unpack_from('>i', records, 8)
        if records[16] != 2:
            return INVALID_RECORD        # v3+ produce: magic 2 only
        if blen + 12 != len(records):
            return INVALID_RECORD if blen + 12 < len(records) else CORRUPT_MESSAGE
        if len(records) > int(t.config('max.message.bytes')):
            return MESSAGE_TOO_LARGE
        crc = struct.unpack_from('>I', records, 17)[0]
        if calc_crc32c(memoryview(records)[21:]) != crc:
            return CORRUPT_MESSAGE
        batch = DefaultRecordBatch(records)
        count = struct.unpack_from('>i', records, 57)[0]
        if count <= 0 or batch.last_offset_delta != count - 1:
            return INVALID_RECORD
        codec = batch.compression_type
        if codec == 0 or (codec == 1 and kafka.codec.has_gzip()):
            try:
                n = sum(1 for _ in batch)
            except Exception as e:
                log.info('corrupt batch for %s-%d: %r', topic, index, e)
                return CORRUPT_MESSAGE
            if n != count:
                return CORRUPT_MESSAGE
        b = bytearray(records)
        struct.pack_into('>q', b, 0, p.hwm)
        struct.pack_into('>i', b, 12, 0)          # partition leader epoch
        if t.config('message.timestamp.type') == 'LogAppendTime':
            attrs = struct.unpack_from('>h', b, 21)[0] | 0x08
            struct.pack_into('>h', b, 21, attrs)
            struct.pack_into('>q', b, 35, now_ms)
            struct.pack_into('>I', b, 17, calc_crc32c(bytes(b[21:])))
            d['timestamp'] = now_ms
        d['offset'] = p.hwm
        p.bases.append(p.hwm)
        p.lasts.append(p.hwm + count - 1)
        p.batches.append(bytes(b))
        p.hwm += count
        d['log_start_offset'] = p.log_start
        return NONE

    # ---- Fetch
    def h_fetch(self, conn, v, r):
        if v >= 7 and r.get('session_id', 0) != 0:
            return dict(error_code=FETCH_SESSION_ID_NOT_FOUND, session_id=0, topics=[])
        max_wait = max(0, r['max_wait_time']) / 1000.0
        min_bytes = r['min_bytes']
        deadline = time.monotonic() + max_wait
        with self.lock:
            while True:
                topics, size, errors = self.fetch_once(conn, r)
                now = time.monotonic()
                if (size >= min_bytes or errors or now >= deadline or conn.closed
                        or conn.broker.down):
                    break
                self.cond.wait(min(deadline - now, 0.5))
        return dict(error_code=NONE, session_id=0, topics=topics)

    def fetch_once(self, conn, r):
        total = 0
        max_total = r.get('max_bytes', 0x7fffffff)
        errors = False
        out = []
        for tp in r['topics']:
            parts = []
            for pp in tp['partitions']:
                off = pp.get('fetch_offset', pp.get('offset'))
                d = dict(partition=pp['partition'], highwater_offset=-1, last_stable_offset=-1,
                         log_start_offset=-1, aborted_transactions=None,
                         preferred_read_replica=-1, message_set=b'')
                p, err = self.partition_for(conn, tp['topic'], pp['partition'])
                if not err:
                    d.update(highwater_offset=p.hwm, last_stable_offset=p.hwm,
                             log_start_offset=p.log_start)
                    if off < p.log_start or off > p.hwm:
                        err = OFFSET_OUT_OF_RANGE
                    else:
                        chunks = []
                        psize = 0
                        i = p.find(off)
                        while i < len(p.batches):
                            blen = len(p.batches[i])
                            if chunks and psize + blen > pp['max_bytes']:
                                break
                            if total > 0 and (total + blen > max_total or
                                              (not chunks and blen > pp['max_bytes'])):
                                break
                            # KIP-74: the first batch of a response always
                            # goes, even when larger than the limits
                            chunks.append(p.batches[i])
                            psize += blen
                            total += blen
                            i += 1
                        d['message_set'] = b''.join(chunks)
                d['error_code'] = err
                errors = errors or bool(err)
                parts.append(d)
            out.append(dict(topics=tp['topic'], partitions=parts))
        return out, total, errors

    # ---- ListOffsets
    def h_list_offsets(self, conn, v, r):
        out = []
        with self.lock:
            for tp in r['topics']:
                parts = []
                for pp in tp['partitions']:
                    ts = pp['timestamp']
                    p, err = self.partition_for(conn, tp['topic'], pp['partition'])
                    rts, roff = -1, -1
                    if not err:
                        if ts == -1:
                            roff = p.hwm
                        elif ts == -2:
                            roff = p.log_start
                        else:
                            rts, roff = self.offset_for_time(p, ts)
                    d = dict(partition=pp['partition'], error_code=err, timestamp=rts,
                             offset=roff)
                    if v == 0:
                        d['offsets'] = [] if err or roff < 0 else [roff]
                    parts.append(d)
                out.append(dict(topic=tp['topic'], partitions=parts))
        return dict(topics=out)

    def offset_for_time(self, p, ts):
        for raw in p.batches:
            if struct.unpack_from('>q', raw, 35)[0] < ts:
                continue
            try:
                for rec in DefaultRecordBatch(raw):
                    if rec.offset >= p.log_start and rec.timestamp >= ts:
                        return rec.timestamp, rec.offset
            except Exception:
                continue
        return -1, -1

    # ---- admin: topics
    def controller_check(self, conn):
        return NONE if conn.broker.id == self.controller() else NOT_CONTROLLER

    def parse_configs(self, entries):
        """(configs, error, message) for CreateTopics' configs."""
        out = {}
        for name, value in entries:
            if value is None:
                return None, INVALID_CONFIG, 'Null value not supported for topic configs : %s' % name
            if name not in TOPIC_CONFIG:
                return None, INVALID_CONFIG, 'Unknown topic config name: %s' % name
            msg = check_config_value(TOPIC_CONFIG[name], value)
            if msg:
                return None, INVALID_CONFIG, msg
            out[name] = value
        return out, NONE, None

    def check_assignment(self, assignment, first):
        """INVALID_REPLICA_ASSIGNMENT message or None. assignment: list of lists."""
        n = len(self.brokers)
        rf = None
        for i, reps in enumerate(assignment):
            if not reps:
                return 'Partition %d has an empty replica list' % (first + i)
            if len(set(reps)) != len(reps):
                return 'Duplicate brokers not allowed in replica assignment: %s' % \
                    ', '.join(map(str, reps))
            bad = [b for b in reps if not 0 <= b < n]
            if bad:
                return 'Unknown broker(s) in replica assignment: %s.' % ', '.join(map(str, bad))
            if rf is not None and len(reps) != rf:
                return 'All partitions should have the same number of replicas'
            rf = len(reps)
        return None

    def h_create_topics(self, conn, v, r):
        validate = r.get('validate_only', False)
        res = []
        reqs = r['create_topic_requests']
        names = [x['topic'] for x in reqs]
        dup = set(n for n in names if names.count(n) > 1)
        with self.lock:
            ctl = self.controller_check(conn)
            for x in reqs:
                name = x['topic']
                if name in dup and any(d['topic'] == name for d in res):
                    continue        # one answer per duplicated topic, as Kafka
                err, msg = self.create_one(x, ctl, dup, validate)
                if err:
                    log.info('CreateTopics %s: error %d %s', name, err, msg)
                res.append(dict(topic=name, error_code=err, error_message=msg))
        return dict(topic_errors=res)

    def create_one(self, x, ctl, dup, validate):
        name = x['topic']
        if ctl:
            return ctl, 'This is not the correct controller for this cluster.'
        if name in dup:
            return INVALID_REQUEST, ('Create topics request from client contains multiple '
                                     'entries for the following topics: %s' % name)
        if name in self.topics:
            return TOPIC_ALREADY_EXISTS, "Topic '%s' already exists." % name
        configs, err, msg = self.parse_configs([(c['config_key'], c['config_value'])
                                                for c in x['configs'] or []])
        if err:
            return err, msg
        nparts, rf = x['num_partitions'], x['replication_factor']
        assign = x['replica_assignment'] or []
        assignment = None
        if assign:
            if nparts != -1 or rf != -1:
                return INVALID_REQUEST, ('Both numPartitions or replicationFactor and '
                                         'replicasAssignments were set. Both cannot be used '
                                         'at the same time.')
            by_part = dict((a['partition_id'], list(a['replicas'] or [])) for a in assign)
            if sorted(by_part) != list(range(len(by_part))):
                return INVALID_REPLICA_ASSIGNMENT, ('Partitions should be a consecutive '
                                                    '0-based integer sequence')
            assignment = [by_part[i] for i in range(len(by_part))]
            msg = self.check_assignment(assignment, 0)
            if msg:
                return INVALID_REPLICA_ASSIGNMENT, msg
        else:
            if nparts <= 0:
                return INVALID_PARTITIONS, 'Number of partitions must be larger than 0.'
            if rf <= 0:
                return INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.'
            live = len([b for b in self.brokers if not b.down])
            if rf > live:
                return INVALID_REPLICATION_FACTOR, (
                    'Replication factor: %d larger than available brokers: %d.' % (rf, live))
        msg = topic_name_error(name)
        if msg:
            return INVALID_TOPIC_EXCEPTION, msg
        canon = name.replace('.', '_')
        for other in self.topics:
            if other.replace('.', '_') == canon:
                return INVALID_TOPIC_EXCEPTION, (
                    "Topic '%s' collides with existing topic: %s" % (name, other))
        if not validate:
            self.new_topic(name, nparts, rf, configs, assignment)
        return NONE, None

    def h_create_partitions(self, conn, v, r):
        validate = r['validate_only']
        res = []
        names = [x['topic'] for x in r['topic_partitions']]
        with self.lock:
            ctl = self.controller_check(conn)
            for x in r['topic_partitions']:
                name = x['topic']
                if names.count(name) > 1 and any(d['topic'] == name for d in res):
                    continue        # one answer per duplicated topic, as Kafka
                err, msg = NONE, None
                count = x['new_partitions']['count']
                assign = x['new_partitions']['assignment']
                t = self.topics.get(name)
                if ctl:
                    err, msg = ctl, 'This is not the correct controller for this cluster.'
                elif names.count(name) > 1:
                    err, msg = INVALID_REQUEST, 'Duplicate topic in request.'
                elif t is None:
                    err, msg = UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist." % name
                elif count < len(t.partitions):
                    err, msg = INVALID_PARTITIONS, (
                        'Topic currently has %d partitions, which is higher than the requested '
                        '%d.' % (len(t.partitions), count))
                elif count == len(t.partitions):
                    err, msg = INVALID_PARTITIONS, 'Topic already has %d partitions.' % count
                elif assign is not None and len(assign) != count - len(t.partitions):
                    err, msg = INVALID_REPLICA_ASSIGNMENT, (
                        'Increasing the number of partitions by %d but %d assignments provided.'
                        % (count - len(t.partitions), len(assign)))
                elif assign is not None and self.check_assignment(assign, len(t.partitions)):
                    err, msg = INVALID_REPLICA_ASSIGNMENT, self.check_assignment(
                        assign, len(t.partitions))
                elif not validate:
                    n = len(self.brokers)
                    rf = len(t.partitions[0].replicas)
                    for i in range(len(t.partitions), count):
                        reps = assign[i - len(t.partitions)] if assign is not None else \
                            [(t.start + i + k) % n for k in range(rf)]
                        t.partitions.append(Partition(name, i, reps))
                    log.info('topic %s now has %d partitions', name, count)
                    self.cond.notify_all()
                res.append(dict(topic=name, error_code=err, error_message=msg))
        return dict(topic_errors=res)

    def h_delete_topics(self, conn, v, r):
        res = []
        with self.lock:
            ctl = self.controller_check(conn)
            for name in r['topics']:
                if ctl:
                    err = ctl
                elif name not in self.topics:
                    err = UNKNOWN_TOPIC_OR_PARTITION
                else:
                    err = NONE
                    del self.topics[name]
                    for g in self.groups.values():
                        for k in [k for k in g.offsets if k[0] == name]:
                            del g.offsets[k]
                    log.info('topic %s deleted', name)
                res.append(dict(topic=name, error_code=err))
            self.cond.notify_all()
        return dict(topic_error_codes=res)

    # ---- admin: configs
    def topic_entries(self, t, names, v, synonyms):
        out = []
        for spec in TOPIC_CONFIGS:
            name, default, bsyn, bsyn_default = spec[0], spec[2], spec[4], spec[5]
            if names is not None and name not in names:
                continue
            over = name in t.configs
            syn = []
            if synonyms and v >= 1:
                if over:
                    syn.append(dict(config_name=name, config_value=t.configs[name],
                                    config_source=SRC_DYNAMIC_TOPIC))
                syn.append(dict(config_name=bsyn,
                                config_value=bsyn_default if bsyn_default else default,
                                config_source=SRC_DEFAULT))
            out.append(dict(config_names=name, config_value=t.configs.get(name, default),
                            read_only=False, is_default=not over,
                            config_source=SRC_DYNAMIC_TOPIC if over else SRC_DEFAULT,
                            is_sensitive=False, config_synonyms=syn))
        return out

    def broker_entries(self, b, names, v, synonyms):
        out = []
        per = self.broker_overrides.get(b.id, {})
        for name, default, ro, sens, static in broker_config_table(self, b):
            if names is not None and name not in names:
                continue
            layers = []
            if name in per:
                layers.append((per[name], SRC_DYNAMIC_BROKER))
            if name in self.default_overrides:
                layers.append((self.default_overrides[name], SRC_DYNAMIC_DEFAULT_BROKER))
            layers.append((default, SRC_STATIC_BROKER if static else SRC_DEFAULT))
            value, src = layers[0]
            if sens:
                value = None
            syn = [dict(config_name=name, config_value=None if sens else val,
                        config_source=s) for val, s in layers] if synonyms and v >= 1 else []
            out.append(dict(config_names=name, config_value=value, read_only=ro,
                            is_default=src == SRC_DEFAULT, config_source=src,
                            is_sensitive=sens, config_synonyms=syn))
        return out

    def h_describe_configs(self, conn, v, r):
        synonyms = r.get('include_synonyms', False)
        res = []
        with self.lock:
            for x in r['resources']:
                rt, rn, names = x['resource_type'], x['resource_name'], x['config_names']
                d = dict(error_code=NONE, error_message=None, resource_type=rt,
                         resource_name=rn, config_entries=[])
                if rt == RES_TOPIC:
                    msg = topic_name_error(rn)
                    if msg:
                        d.update(error_code=INVALID_TOPIC_EXCEPTION, error_message=msg)
                    elif rn not in self.topics:
                        d.update(error_code=UNKNOWN_TOPIC_OR_PARTITION,
                                 error_message='Topic %s does not exist' % rn)
                    else:
                        d['config_entries'] = self.topic_entries(self.topics[rn], names, v,
                                                                 synonyms)
                elif rt == RES_BROKER:
                    if rn == '':
                        d['config_entries'] = [
                            dict(config_names=k, config_value=val, read_only=False,
                                 is_default=False, config_source=SRC_DYNAMIC_DEFAULT_BROKER,
                                 is_sensitive=False, config_synonyms=[])
                            for k, val in sorted(self.default_overrides.items())
                            if names is None or k in names]
                    elif rn != str(conn.broker.id):
                        d.update(error_code=INVALID_REQUEST, error_message=(
                            'Unexpected broker id, expected %d or empty string, but received %s'
                            % (conn.broker.id, rn)))
                    else:
                        d['config_entries'] = self.broker_entries(conn.broker, names, v,
                                                                  synonyms)
                else:
                    d.update(error_code=INVALID_REQUEST,
                             error_message='Unsupported resource type %d' % rt)
                res.append(d)
        return dict(resources=res)

    def h_alter_configs(self, conn, v, r):
        validate = r['validate_only']
        res = []
        with self.lock:
            for x in r['resources']:
                rt, rn = x['resource_type'], x['resource_name']
                entries = [(c['config_name'], c['config_value']) for c in x['config_entries']]
                err, msg = self.alter_one(conn, rt, rn, entries, validate)
                if err:
                    log.info('AlterConfigs %d/%s: error %d %s', rt, rn, err, msg)
                res.append(dict(error_code=err, error_message=msg, resource_type=rt,
                                resource_name=rn))
        return dict(resources=res)

    def alter_one(self, conn, rt, rn, entries, validate):
        what = "ConfigResource(type=%s, name='%s')" % ({RES_TOPIC: 'TOPIC', RES_BROKER: 'BROKER'}
                                                       .get(rt, 'UNKNOWN'), rn)
        if rt == RES_TOPIC:
            msg = topic_name_error(rn)
            if msg:
                return INVALID_TOPIC_EXCEPTION, msg
            t = self.topics.get(rn)
            if t is None:
                return UNKNOWN_TOPIC_OR_PARTITION, 'Topic %s does not exist' % rn
            new = {}
            for name, value in entries:
                if value is None:
                    return INVALID_REQUEST, 'Null value not supported for : %s' % name
                if name not in TOPIC_CONFIG:
                    return INVALID_CONFIG, 'Unknown topic config name: %s' % name
                m = check_config_value(TOPIC_CONFIG[name], value)
                if m:
                    return INVALID_REQUEST, 'Invalid config value for resource %s: %s' % (what, m)
                new[name] = value
            if not validate:
                t.configs = new
                log.info('topic %s configs now %s', rn, new)
            return NONE, None
        if rt == RES_BROKER:
            if rn != '' and rn != str(conn.broker.id):
                return INVALID_REQUEST, ('Unexpected broker id, expected %d or empty string, '
                                         'but received %s' % (conn.broker.id, rn))
            table = dict((c[0], c) for c in broker_config_table(self, conn.broker))
            new = {}
            for name, value in entries:
                if name not in table:
                    return INVALID_REQUEST, ('Invalid config value for resource %s: Unknown '
                                             'dynamic configuration: %s' % (what, name))
                if table[name][2]:
                    return INVALID_REQUEST, ('Invalid config value for resource %s: Cannot '
                                             'update these configs dynamically: Set(%s)'
                                             % (what, name))
                if value is not None and re.match(r'^num\.|\.bytes$|\.ms$', name) and \
                        not re.match(r'^-?\d+$', value):
                    return INVALID_REQUEST, ('Invalid config value for resource %s: Invalid '
                                             'value %s for configuration %s' % (what, value, name))
                new[name] = value
            if not validate:
                if rn == '':
                    self.default_overrides = new
                else:
                    self.broker_overrides[conn.broker.id] = new
            return NONE, None
        return INVALID_REQUEST, 'Unsupported resource type %d' % rt

    # ---- groups
    def coordinator_check(self, conn, gid):
        c = self.coordinator(gid)
        if c < 0:
            return COORDINATOR_NOT_AVAILABLE
        return NONE if c == conn.broker.id else NOT_COORDINATOR

    def h_find_coordinator(self, conn, v, r):
        key = r.get('consumer_group', r.get('coordinator_key'))
        ktype = r.get('coordinator_type', 0)
        with self.lock:
            c = self.coordinator(key) if ktype == 0 else -1
            if c < 0:
                return dict(error_code=COORDINATOR_NOT_AVAILABLE,
                            error_message='The coordinator is not available.',
                            coordinator_id=-1, host='', port=-1)
            b = self.brokers[c]
            return dict(error_code=NONE, error_message=None, coordinator_id=b.id,
                        host=b.host, port=b.port)

    def h_join_group(self, conn, v, r):
        gid, mid = r['group'], r['member_id']
        sess = r['session_timeout']
        reb = r.get('rebalance_timeout', sess)
        ptype = r['protocol_type']
        protos = [(p['protocol_name'], p['protocol_metadata']) for p in r['group_protocols']]

        def fail(err):
            return dict(error_code=err, generation_id=-1, group_protocol='', leader_id='',
                        member_id=mid, members=[])

        with self.lock:
            err = self.coordinator_check(conn, gid)
            if err:
                return fail(err)
            if not gid:
                return fail(INVALID_GROUP_ID)
            if not self.min_session_ms <= sess <= self.max_session_ms:
                return fail(INVALID_SESSION_TIMEOUT)
            g = self.groups.get(gid)
            if mid and (g is None or mid not in g.members):
                return fail(UNKNOWN_MEMBER_ID)
            if not ptype or not protos:
                return fail(INCONSISTENT_GROUP_PROTOCOL)
            if g is not None:
                others = [m for m in g.members.values() if m.id != mid]
                if others:
                    if g.protocol_type != ptype:
                        return fail(INCONSISTENT_GROUP_PROTOCOL)
                    names = set(n for n, _ in protos)
                    for m in others:
                        names &= set(n for n, _ in m.protocols)
                    if not names:
                        return fail(INCONSISTENT_GROUP_PROTOCOL)
            else:
                g = self.groups[gid] = Group(gid)
            now = time.monotonic()
            if not mid:
                mid = '%s-%s' % (conn.client_id, uuid.uuid4())
                m = Member(mid, conn.client_id, conn.client_host, sess, reb, protos)
                g.members[mid] = m
                same = False
                log.info('group %s: new member %s from %s', gid, mid, conn.client_host)
            else:
                m = g.members[mid]
                same = m.protocols == protos
                m.protocols, m.session_ms, m.rebalance_ms = protos, sess, reb
                m.client_id, m.host = conn.client_id, conn.client_host
            g.protocol_type = ptype
            m.last_hb = now
            if same and mid != g.leader and g.state in ('Stable', 'CompletingRebalance'):
                return dict(error_code=NONE, generation_id=g.generation,
                            group_protocol=g.protocol, leader_id=g.leader, member_id=mid,
                            members=[])
            m.join_result = None
            m.awaiting_join = True
            if g.state != 'PreparingRebalance':
                g.prepare_rebalance(now, self.initial_delay_ms)
            g.try_complete_join(now)
            self.cond.notify_all()
            while m.join_result is None:
                if g.members.get(mid) is not m or self.groups.get(gid) is not g:
                    return fail(UNKNOWN_MEMBER_ID)
                if conn.closed:
                    return None
                self.cond.wait(0.1)
                if g.try_complete_join(time.monotonic()):
                    self.cond.notify_all()
            res, m.join_result = m.join_result, None
            return res

    def h_sync_group(self, conn, v, r):
        gid, gen, mid = r['group'], r['generation_id'], r['member_id']
        with self.lock:
            err = self.coordinator_check(conn, gid)
            if err:
                return dict(error_code=err, member_assignment=b'')
            g = self.groups.get(gid)
            if g is None or mid not in g.members:
                return dict(error_code=UNKNOWN_MEMBER_ID, member_assignment=b'')
            if gen != g.generation:
                return dict(error_code=ILLEGAL_GENERATION, member_assignment=b'')
            if g.state == 'PreparingRebalance':
                return dict(error_code=REBALANCE_IN_PROGRESS, member_assignment=b'')
            m = g.members[mid]
            m.last_hb = time.monotonic()
            if g.state == 'CompletingRebalance' and mid == g.leader:
                assigns = dict((a['member_id'], a['member_metadata'])
                               for a in r['group_assignment'])
                for x in g.members.values():
                    x.assignment = assigns.get(x.id) or b''
                g.state = 'Stable'
                log.info('group %s: generation %d stable', gid, g.generation)
                self.cond.notify_all()
            while True:
                if g.members.get(mid) is not m or self.groups.get(gid) is not g:
                    return dict(error_code=UNKNOWN_MEMBER_ID, member_assignment=b'')
                if g.generation != gen or g.state == 'PreparingRebalance':
                    return dict(error_code=REBALANCE_IN_PROGRESS, member_assignment=b'')
                if g.state == 'Stable':
                    return dict(error_code=NONE, member_assignment=m.assignment)
                if conn.closed:
                    return None
                self.cond.wait(0.1)

    def h_heartbeat(self, conn, v, r):
        gid, gen, mid = r['group'], r['generation_id'], r['member_id']
        with self.lock:
            err = self.coordinator_check(conn, gid)
            if not err:
                g = self.groups.get(gid)
                if g is None or mid not in g.members:
                    err = UNKNOWN_MEMBER_ID
                else:
                    g.members[mid].last_hb = time.monotonic()
                    if gen != g.generation:
                        err = ILLEGAL_GENERATION
                    elif g.state == 'PreparingRebalance':
                        err = REBALANCE_IN_PROGRESS
            return dict(error_code=err)

    def h_leave_group(self, conn, v, r):
        gid, mid = r['group'], r['member_id']
        with self.lock:
            err = self.coordinator_check(conn, gid)
            if not err:
                g = self.groups.get(gid)
                if g is None or mid not in g.members:
                    err = UNKNOWN_MEMBER_ID
                else:
                    log.info('group %s: member %s left', gid, mid)
                    g.remove_member(mid, time.monotonic(), self.initial_delay_ms)
                    self.cond.notify_all()
            return dict(error_code=err)

    def h_offset_commit(self, conn, v, r):
        gid = r['consumer_group']
        gen = r.get('consumer_group_generation_id', -1)
        mid = r.get('consumer_id', '')
        with self.lock:
            err = self.coordinator_check(conn, gid)
            g = self.groups.get(gid)
            if not err:
                if g is None:
                    if gen < 0:
                        g = self.groups[gid] = Group(gid)
                    else:
                        err = UNKNOWN_MEMBER_ID
                elif gen < 0 and g.state == 'Empty':
                    pass
                elif g.state == 'CompletingRebalance':
                    err = REBALANCE_IN_PROGRESS
                elif mid not in g.members:
                    err = UNKNOWN_MEMBER_ID
                elif gen != g.generation:
                    err = ILLEGAL_GENERATION
                else:
                    g.members[mid].last_hb = time.monotonic()
            out = []
            for tp in r['topics']:
                parts = []
                t = self.topics.get(tp['topic'])
                for pp in tp['partitions']:
                    e = err
                    if not e:
                        if t is None or not 0 <= pp['partition'] < len(t.partitions):
                            e = UNKNOWN_TOPIC_OR_PARTITION
                        elif pp['metadata'] is not None and len(pp['metadata']) > 4096:
                            e = OFFSET_METADATA_TOO_LARGE
                        else:
                            g.offsets[(tp['topic'], pp['partition'])] = (pp['offset'],
                                                                         pp['metadata'])
                    parts.append(dict(partition=pp['partition'], error_code=e))
                out.append(dict(topic=tp['topic'], partitions=parts))
            if self.verbose:
                log.debug('group %s: commit %s', gid, out)
            return dict(topics=out)

    def h_offset_fetch(self, conn, v, r):
        gid = r['consumer_group']
        with self.lock:
            err = self.coordinator_check(conn, gid)
            if err:
                if v >= 2:
                    return dict(topics=[], error_code=err)
                return dict(topics=[dict(topic=tp['topic'], partitions=[
                    dict(partition=p, offset=-1, committed_leader_epoch=-1, metadata='',
                         error_code=err)
                    for p in tp['partitions']]) for tp in r['topics'] or []])
            g = self.groups.get(gid)
            offsets = g.offsets if g else {}
            want = r['topics']
            if want is None:
                by_topic = {}
                for (t, p) in sorted(offsets):
                    by_topic.setdefault(t, []).append(p)
                want = [dict(topic=t, partitions=ps) for t, ps in by_topic.items()]
            out = []
            for tp in want:
                parts = []
                for p in tp['partitions']:
                    off, meta = offsets.get((tp['topic'], p), (-1, ''))
                    parts.append(dict(partition=p, offset=off, committed_leader_epoch=-1,
                                      metadata=meta or '', error_code=NONE))
                out.append(dict(topic=tp['topic'], partitions=parts))
            return dict(topics=out, error_code=NONE)

    def h_describe_groups(self, conn, v, r):
        include_ops = r.get('include_authorized_operations', False)
        out = []
        with self.lock:
            for gid in r['groups']:
                err = self.coordinator_check(conn, gid)
                g = self.groups.get(gid)
                d = dict(error_code=err, group=gid, state='Dead', protocol_type='', protocol='',
                         members=[],
                         authorized_operations=(1 << 3 | 1 << 6 | 1 << 8) if include_ops
                         else -(1 << 31))
                if not err and g is not None:
                    stable = g.state == 'Stable'
                    d.update(state=g.state, protocol_type=g.protocol_type or '',
                             protocol=(g.protocol or '') if stable else '')
                    d['members'] = [dict(
                        member_id=m.id, client_id=m.client_id, client_host=m.host,
                        member_metadata=m.metadata(g.protocol) if stable else b'',
                        member_assignment=m.assignment if stable else b'')
                        for m in g.members.values()]
                out.append(d)
        return dict(groups=out)

    def h_list_groups(self, conn, v, r):
        states = set(r.get('states_filter') or [])
        with self.lock:
            gs = [dict(group=g.id, protocol_type=g.protocol_type or '', group_state=g.state)
                  for g in self.groups.values()
                  if g.state != 'Dead' and self.coordinator(g.id) == conn.broker.id
                  and (not states or g.state in states)]
        return dict(error_code=NONE, groups=gs)

    def h_delete_groups(self, conn, v, r):
        out = []
        with self.lock:
            for gid in r['groups_names']:
                err = self.coordinator_check(conn, gid)
                g = self.groups.get(gid)
                if not err:
                    if g is None:
                        err = GROUP_ID_NOT_FOUND
                    elif g.members:
                        err = NON_EMPTY_GROUP
                    else:
                        g.state = 'Dead'
                        del self.groups[gid]
                        log.info('group %s deleted', gid)
                out.append(dict(group_id=gid, error_code=err))
            self.cond.notify_all()
        return dict(results=out)

    # ---- background: session timeouts, rebalance deadlines
    def reaper(self):
        while True:
            time.sleep(0.1)
            with self.lock:
                now = time.monotonic()
                changed = False
                for g in list(self.groups.values()):
                    for m in list(g.members.values()):
                        if not m.awaiting_join and now - m.last_hb > m.session_ms / 1000.0:
                            log.info('group %s: member %s session timed out', g.id, m.id)
                            g.remove_member(m.id, now, self.initial_delay_ms)
                            changed = True
                    if g.try_complete_join(now):
                        changed = True
                if changed:
                    self.cond.notify_all()

    # ---- network
    def listen(self, b):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, b.port))
        s.listen(128)
        b.port = s.getsockname()[1]
        b.lsock = s
        threading.Thread(target=self.accept_loop, args=(b, s), daemon=True,
                         name='accept-%d' % b.id).start()
        log.info('broker %d listening on %s:%d', b.id, self.host, b.port)

    def accept_loop(self, b, s):
        while True:
            try:
                cs, addr = s.accept()
            except OSError:
                return
            cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Conn(cs, addr, b)
            with self.lock:
                if b.down or b.lsock is not s:
                    cs.close()
                    continue
                b.conns.add(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.sock.makefile('rb')
        try:
            while True:
                head = f.read(4)
                if len(head) < 4:
                    break
                (size,) = struct.unpack('>i', head)
                if size < 0 or size > MAX_FRAME:
                    raise CloseConnection('bad request size %d' % size)
                data = f.read(size)
                if len(data) < size:
                    break
                if not self.wait_unpaused(c):
                    break
                resp = self.handle_frame(c, data)
                if resp is None:
                    continue
                if not self.wait_unpaused(c):
                    break
                c.sock.sendall(struct.pack('>i', len(resp)) + resp)
        except CloseConnection as e:
            log.warning('broker %d: closing connection from %s: %s', c.broker.id, c.addr, e)
        except (OSError, ValueError):
            pass
        except Exception:
            log.exception('broker %d: error serving %s', c.broker.id, c.addr)
        finally:
            c.closed = True
            with self.lock:
                c.broker.conns.discard(c)
                self.cond.notify_all()
            try:
                c.sock.close()
            except OSError:
                pass

    def wait_unpaused(self, c):
        with self.lock:
            while c.broker.paused and not c.closed and not c.broker.down:
                self.cond.wait(0.2)
            return not c.closed and not c.broker.down

    def set_knobs(self, pause=None, down=None):
        with self.lock:
            if pause is not None:
                for b in self.brokers:
                    b.paused = b.id in pause
            if down is not None:
                for b in self.brokers:
                    want = b.id in down
                    if want and not b.down:
                        b.down = True
                        s, b.lsock = b.lsock, None
                        if s is not None:
                            try:     # wakes the accept() of the other thread
                                s.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass
                            s.close()
                        for c in list(b.conns):
                            c.closed = True
                            try:
                                c.sock.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass
                        log.info('broker %d is down', b.id)
                    elif not want and b.down:
                        b.down = False
                        self.listen(b)
                        log.info('broker %d is up again', b.id)
            self.cond.notify_all()
            return self.knobs()

    def knobs(self):
        return dict(pause=[b.id for b in self.brokers if b.paused],
                    down=[b.id for b in self.brokers if b.down])

    # ---- control API views
    def state(self):
        with self.lock:
            topics = {}
            for name, t in sorted(self.topics.items()):
                topics[name] = dict(configs=t.configs, partitions=[dict(
                    partition=p.index, leader=self.leader(p), replicas=p.replicas,
                    isr=self.isr(p), log_start_offset=p.log_start, high_watermark=p.hwm)
                    for p in t.partitions])
            groups = {}
            for gid, g in sorted(self.groups.items()):
                groups[gid] = dict(
                    state=g.state, generation=g.generation, protocol_type=g.protocol_type,
                    protocol=g.protocol, leader=g.leader, coordinator=self.coordinator(gid),
                    members=[dict(member_id=m.id, client_id=m.client_id, client_host=m.host)
                             for m in g.members.values()],
                    offsets=dict(('%s:%d' % k, o[0]) for k, o in sorted(g.offsets.items())))
            return dict(cluster_id=self.cluster_id, controller=self.controller(),
                        brokers=[dict(id=b.id, host=b.host, port=b.port, paused=b.paused,
                                      down=b.down) for b in self.brokers],
                        topics=topics, groups=groups)

    def records(self, topic, index, offset, limit):
        with self.lock:
            t = self.topics.get(topic)
            if t is None or not 0 <= index < len(t.partitions):
                return None
            p = t.partitions[index]
            offset = max(offset, p.log_start)
            batches = p.batches[p.find(offset):]
        out = []
        b64 = lambda x: None if x is None else base64.b64encode(x).decode()
        for raw in batches:
            try:
                recs = list(DefaultRecordBatch(raw))
            except Exception as e:
                out.append(dict(offset=struct.unpack_from('>q', raw, 0)[0],
                                error='cannot decode batch: %r' % e))
                continue
            for rec in recs:
                if rec.offset < offset:
                    continue
                out.append(dict(offset=rec.offset, timestamp=rec.timestamp,
                                timestamp_type=rec.timestamp_type, key=b64(rec.key),
                                value=b64(rec.value),
                                headers=[[k, b64(hv)] for k, hv in rec.headers]))
                if len(out) >= limit:
                    return out
        return out

    def delete_records(self, topic, index, offset):
        with self.lock:
            t = self.topics.get(topic)
            if t is None or not 0 <= index < len(t.partitions):
                raise KeyError('no such partition')
            p = t.partitions[index]
            if offset < 0 or offset > p.hwm:
                raise ValueError('offset out of range 0..%d' % p.hwm)
            if offset > p.log_start:
                p.log_start = offset
                i = p.find(offset)
                del p.bases[:i], p.lasts[:i], p.batches[:i]
            return p.log_start


def _short(obj):
    s = repr(obj)
    return s if len(s) < 400 else s[:400] + '...'


# --- HTTP control API -------------------------------------------------------

def make_control_handler(cluster):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *args):
            log.debug('control: ' + fmt, *args)

        def reply(self, code, obj):
            body = (obj if isinstance(obj, str) else json.dumps(obj)).encode() + b'\n'
            self.send_response(code)
            self.send_header('Content-Type', 'text/plain' if isinstance(obj, str)
                             else 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            n = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(n) if n else b''
            return json.loads(raw.decode() or '{}')

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == '/ping':
                return self.reply(200, 'pong')
            if u.path == '/_broker/state':
                return self.reply(200, cluster.state())
            if u.path == '/_broker/knobs':
                with cluster.lock:
                    return self.reply(200, cluster.knobs())
            if u.path == '/_broker/stats':
                with cluster.lock:
                    return self.reply(200, dict(requests=dict(cluster.stats)))
            if u.path == '/_broker/records':
                try:
                    recs = cluster.records(q['topic'], int(q.get('partition', 0)),
                                           int(q.get('offset', 0)), int(q.get('limit', 1000)))
                except (KeyError, ValueError) as e:
                    return self.reply(400, dict(message='bad query: %s' % e))
                if recs is None:
                    return self.reply(404, dict(message='no such partition'))
                return self.reply(200, recs)
            self.reply(404, dict(message='not found'))

        def do_POST(self):
            try:
                b = self.body()
            except ValueError as e:
                return self.reply(400, dict(message='bad JSON: %s' % e))
            if self.path == '/_broker/knobs':
                try:
                    pause = b.get('pause')
                    down = b.get('down')
                    for lst in (pause, down):
                        if lst is not None and not all(isinstance(x, int) for x in lst):
                            raise ValueError('lists of broker ids expected')
                    return self.reply(200, cluster.set_knobs(
                        None if pause is None else set(pause),
                        None if down is None else set(down)))
                except (ValueError, AttributeError, TypeError, OSError) as e:
                    return self.reply(400, dict(message=str(e)))
            if self.path == '/_broker/delete-records':
                try:
                    lso = cluster.delete_records(b['topic'], int(b.get('partition', 0)),
                                                 int(b['offset']))
                except (KeyError, ValueError, TypeError) as e:
                    return self.reply(400, dict(message=str(e)))
                return self.reply(200, dict(log_start_offset=lso))
            self.reply(404, dict(message='not found'))

        def do_DELETE(self):
            if self.path == '/_broker/stats':
                with cluster.lock:
                    cluster.stats.clear()
                return self.reply(200, dict(requests={}))
            self.reply(404, dict(message='not found'))

    return H


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description='Kafka cluster fixture for tests '
                                 '(see the module docstring).')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--brokers', type=int, default=1)
    ap.add_argument('--ports', default='', help='P0,P1,... (default 0: free ports)')
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--control-port', type=int, default=0)
    ap.add_argument('--control-port-file')
    ap.add_argument('--topics', default='')
    ap.add_argument('--no-auto-create', action='store_true')
    ap.add_argument('--default-replication-factor', type=int, default=1)
    ap.add_argument('--num-partitions', type=int, default=1)
    ap.add_argument('--group-initial-rebalance-delay-ms', type=int, default=0)
    ap.add_argument('--group-min-session-timeout-ms', type=int, default=6000)
    ap.add_argument('--cluster-id', default=None)
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    if not 1 <= args.brokers <= 16:
        ap.error('--brokers must be 1..16')
    if args.cluster_id is None:
        args.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip('=')
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='%(asctime)s kafka_broker %(message)s', stream=sys.stderr)
    cluster = Cluster(args)
    for spec in [s.strip() for s in args.topics.split(',') if s.strip()]:
        parts = spec.split(':')
        err = topic_name_error(parts[0])
        if err or len(parts) not in (2, 3):
            ap.error('bad --topics entry %r (NAME:PARTITIONS[:RF]) %s' % (spec, err or ''))
        rf = int(parts[2]) if len(parts) == 3 else args.default_replication_factor
        cluster.new_topic(parts[0], int(parts[1]), max(1, min(rf, args.brokers)), {})
    for b in cluster.brokers:
        cluster.listen(b)
    threading.Thread(target=cluster.reaper, daemon=True, name='reaper').start()
    srv = http.server.ThreadingHTTPServer((args.host, args.control_port),
                                          make_control_handler(cluster))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True, name='control').start()
    cport = srv.server_address[1]
    log.info('control API on http://%s:%d', args.host, cport)
    if args.control_port_file:
        write_atomic(args.control_port_file, '%d\n' % cport)
    write_atomic(args.port_file, ''.join('%d\n' % b.port for b in cluster.brokers))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(1):
        pass
    log.info('stopping')


if __name__ == '__main__':
    main()
