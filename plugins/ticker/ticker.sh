#!/bin/sh
# An example external plugin: a tick every TICK_SECONDS. Plain lines become
# `info` records in the central log (`error` on stderr); the ticks are
# pino-style JSON lines, whose level and fields are kept. On SIGTERM it says
# goodbye and exits.
n=0
every=${TICK_SECONDS:-5}
trap 'echo "ticker stopping after $n ticks"; exit 0' TERM INT
echo "ticker started: pid $$, a tick every $every s"
while :; do
  n=$((n + 1))
  printf '{"level":"info","msg":"tick","n":%d,"every":%s}\n' "$n" "$every"
  # Sleep in the background and wait, so the trap runs as soon as SIGTERM
  # comes (the sleep gets it too: it is in the same process group).
  sleep "$every" &
  wait $! 2>/dev/null
done
