#!/bin/sh
# Starts rpcpool-server for a supervisor (systemd, runit, a container's entrypoint): `exec`
# replaces this shell with the server, so the supervisor's SIGTERM reaches the server itself,
# which drains and exits 0. `npx rpcpool-server` would not do: npm does not forward signals,
# and killing npm's PID leaves the real server running.
exec node "$(dirname "$0")/../dist/server/main.js" "$@"
