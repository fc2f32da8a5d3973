#!/bin/sh
# `make demo`: a live session through basetap. A sample BaseMessage server (Python websockets)
# runs on a free port, basetap proxies to it, a scripted client sends clean and broken messages,
# and basetap shows each violation as it crosses; then the recorded session is checked again,
# this time with the example profile.
BIN=${1:-.build/debug/basetap}
PY=${2:-.venv/bin/python}
DIR=$(dirname "$0")
PEERS="$DIR/../Tests/Peers"
WORK=$(mktemp -d)
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SERVER_PORT=$(free_port)
PROXY_PORT=$(free_port)

"$PY" "$PEERS/sample_server.py" "$SERVER_PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 1

printf '\n\033[1m$ basetap proxy --listen 127.0.0.1:%s --upstream ws://127.0.0.1:%s --record session.jsonl --log-messages\033[0m\n' "$PROXY_PORT" "$SERVER_PORT"
"$BIN" proxy --listen "127.0.0.1:$PROXY_PORT" --upstream "ws://127.0.0.1:$SERVER_PORT" \
  --record "$WORK/session.jsonl" --log-messages --color always &
PROXY=$!
sleep 1
"$PY" "$PEERS/sample_client.py" "ws://127.0.0.1:$PROXY_PORT/chat" --messages 9 > "$WORK/client.log"
sleep 0.5
kill -INT $PROXY
wait $PROXY

printf '\n\033[1m$ basetap check --profile Captures/protocol-core.profile.yaml --rules schema,type,error.code-foreign session.jsonl\033[0m\n'
"$BIN" check --profile "$DIR/protocol-core.profile.yaml" --rules schema,type,error.code-foreign "$WORK/session.jsonl"
exit 0
