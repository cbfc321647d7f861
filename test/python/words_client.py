#!/usr/bin/env python3
"""Calls rpcpool.test.v1.WordsService/Count with grpcio, from stubs generated out of test/proto.

Run by test/service-implementation.test.ts: a handler's partial reply must reach a client of
another language with the proto's defaults for the fields it left out.

Usage: words_client.py STUBS HOST:PORT TEXT
Prints one JSON document: the reply's fields as Python reads them.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from rpcpool.test.v1 import words_pb2, words_pb2_grpc  # noqa: E402

with grpc.insecure_channel(sys.argv[2]) as channel:
    stub = words_pb2_grpc.WordsServiceStub(channel)
    reply = stub.Count(words_pb2.CountRequest(text=sys.argv[3]), timeout=10)
    print(
        json.dumps(
            {
                "count": reply.count,
                "mean": reply.mean,
                "max": reply.max,
                "server": reply.server,
                "words": list(reply.words),
                "hasLongest": reply.HasField("longest"),
                "longest": {"word": reply.longest.word, "length": reply.longest.length},
            }
        )
    )
