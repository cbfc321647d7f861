#!/usr/bin/env python3
"""A client of rpcpool's contract written in Python with grpcio, from stubs generated from proto/.

The TypeScript server is only one implementation of proto/rpcpool/compute/v1: any gRPC language can
call it. Run by test/python-interop.test.ts, which generates the stubs into STUBS first:

    python3 -m grpc_tools.protoc -I proto --python_out=STUBS --grpc_python_out=STUBS \
        proto/rpcpool/compute/v1/*.proto
    python3 -m grpc_tools.protoc -I node_modules/grpc-health-check/proto --python_out=STUBS \
        --grpc_python_out=STUBS health/v1/health.proto
    python3 -m grpc_tools.protoc -I node_modules/google-proto-files --python_out=STUBS \
        google/rpc/status.proto google/rpc/error_details.proto

Usage:
    column_sums_client.py --stubs STUBS --address HOST:PORT sums FILE [--chunk-size N] [--fsum]
    column_sums_client.py --stubs STUBS --address HOST:PORT health [--service NAME]

Prints one JSON document. A refusal by the server is a result, not a crash: it prints
{"error": {"code", "details", "trailing", "status"}} and exits 0 ("status": the standard
google.rpc.Status details, decoded).
"""

import argparse
import json
import math
import sys


def table_requests(compute_pb2, table_pb2, path, chunk_size):
    """The client stream: options first, then the file's bytes in chunks (never the whole file)."""
    yield compute_pb2.ColumnSumsRequest(options=table_pb2.TableOptions(file_name=path))
    with open(path, "rb") as table:
        while chunk := table.read(chunk_size):
            yield compute_pb2.ColumnSumsRequest(chunk=chunk)


def local_fsum(path):
    """Python's own correctly rounded column sums of a ';' table, to compare with the server's."""
    columns = None
    with open(path, encoding="ascii") as table:
        for line in table:
            if not line.strip():
                continue
            cells = [float(cell) for cell in line.split(";")]
            columns = [[] for _ in cells] if columns is None else columns
            for column, value in zip(columns, cells):
                column.append(value)
    return [math.fsum(column) for column in columns or []]


def rpc_error(error):
    """The refusal: code, words, text trailers, and the standard details decoded (when sent)."""
    result = {"code": error.code().name, "details": error.details(), "trailing": {}}
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            result["status"] = decode_status(value)
        elif not key.endswith("-bin"):
            result["trailing"][key] = value
    return {"error": result}


def decode_status(value):
    """google.rpc.Status and its ErrorInfo with stock protobuf, as any Python client reads them."""
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(value)
    decoded = {"code": status.code, "message": status.message}
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            decoded["errorInfo"] = {
                "reason": info.reason,
                "domain": info.domain,
                "metadata": dict(info.metadata),
            }
    return decoded


def sums(grpc, channel, args):
    from rpcpool.compute.v1 import compute_pb2, compute_pb2_grpc, table_pb2

    stub = compute_pb2_grpc.ComputeServiceStub(channel)
    try:
        reply = stub.ColumnSums(
            table_requests(compute_pb2, table_pb2, args.file, args.chunk_size), timeout=60
        )
    except grpc.RpcError as error:
        return rpc_error(error)
    result = {
        "rows": reply.rows,
        "columns": reply.columns,
        "sums": list(reply.sums),
        "servedBy": {"server": reply.served_by.server, "pid": reply.served_by.pid},
    }
    if args.fsum:
        result["fsum"] = local_fsum(args.file)
    return result


def health(grpc, channel, args):
    # grpcio-health-checking is not packaged by Debian: the stubs come from the standard proto.
    from health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=args.service), timeout=10)
    except grpc.RpcError as error:
        return rpc_error(error)
    return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stubs", required=True, help="folder of the generated *_pb2 modules")
    parser.add_argument("--address", required=True, help="HOST:PORT of an rpcpool server")
    commands = parser.add_subparsers(dest="command", required=True)
    sums_parser = commands.add_parser("sums", help="ColumnSums of one ';' table")
    sums_parser.add_argument("file")
    sums_parser.add_argument("--chunk-size", type=int, default=64 * 1024)
    sums_parser.add_argument("--fsum", action="store_true", help="add Python's math.fsum per column")
    health_parser = commands.add_parser("health", help="grpc.health.v1.Health/Check")
    health_parser.add_argument("--service", default="")
    args = parser.parse_args()

    sys.path.insert(0, args.stubs)
    import grpc

    with grpc.insecure_channel(args.address) as channel:
        run = sums if args.command == "sums" else health
        print(json.dumps(run(grpc, channel, args)))


if __name__ == "__main__":
    main()
