"""A grpcio (C-core) server on its default ping policy, for the keepalive test.

One method, /test.Silent/Wait: sleeps the seconds its request names (ASCII) and answers empty,
sending nothing meanwhile: the connection carries no data from the server while the call lasts.
argv[1]: grpc.http2.min_ping_interval_without_data_ms (C-core's default is 300000; the test
shortens it to keep its time low). Prints the port, then serves until stdin closes.
"""

import sys
import time
from concurrent import futures

import grpc


def wait(request, context):
    time.sleep(float(request.decode("ascii")))
    return b""


def main():
    options = [("grpc.http2.min_ping_interval_without_data_ms", int(sys.argv[1]))]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
    handler = grpc.method_handlers_generic_handler(
        "test.Silent", {"Wait": grpc.unary_unary_rpc_method_handler(wait)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(0)


if __name__ == "__main__":
    main()
