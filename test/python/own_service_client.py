"""A grpcio client of the WordsService of `rpcpool init` (test/own-service.test.ts), from stubs generated at test time.

Prints one JSON document: the Count reply's fields as Python reads them (proto defaults for
fields the server left out) and the Split stream's messages.
"""

import argparse
import json
import sys

import grpc

parser = argparse.ArgumentParser()
parser.add_argument("--stubs", required=True)
parser.add_argument("--address", required=True)
parser.add_argument("--text", required=True)
args = parser.parse_args()
sys.path.insert(0, args.stubs)

from words.v1 import words_pb2, words_pb2_grpc  # noqa: E402

with grpc.insecure_channel(args.address) as channel:
    stub = words_pb2_grpc.WordsServiceStub(channel)
    count = stub.Count(words_pb2.CountRequest(text=args.text), timeout=10)
    split = [[m.index, m.word] for m in stub.Split(words_pb2.SplitRequest(text=args.text), timeout=10)]

print(json.dumps({"words": count.words, "longest": count.longest, "server": count.server, "split": split}))
