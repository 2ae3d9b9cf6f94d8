#!/usr/bin/env bash
# service-guard.sh COMMAND [ARGS...]: runs a service that must die with the process that started it.
# Standard input is a pipe from that process. When it closes (the starter ended in any way, even
# SIGKILL, which runs no exit hook), the service gets SIGTERM, then SIGKILL after 5 s. The guard
# exits with the service's status, so the starter still sees a service that fails at startup.
# Not `set -e`: a failing `kill` of an already-gone process is expected here.
"$@" </dev/null &
svc=$!
exec 3<&0
{
  while read -r -u 3 _; do :; done
  kill -TERM "$svc" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$svc" 2>/dev/null || exit 0
    sleep 0.5
  done
  kill -KILL "$svc" 2>/dev/null
} &
watcher=$!
# Only the watcher holds the pipe from here on.
exec 0</dev/null 3<&-
wait "$svc"
rc=$?
kill "$watcher" 2>/dev/null
exit "$rc"
