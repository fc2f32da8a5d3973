#!/bin/sh
# make bench: every benchmark prints its figures with a baseline measured in the same run.
set -e
BASETAP=$1
PYTHON=$2
WSBENCH=$3
echo "== check throughput (issue: 1 000 000 messages/s on one core)"
"$PYTHON" "$(dirname "$0")/check_throughput.py" "$BASETAP"
echo
echo "== decode throughput (issue: 10x tshark, flat memory)"
"$PYTHON" "$(dirname "$0")/decode_throughput.py" "$BASETAP"
echo
echo "== proxy throughput (issue: >= 0.9x haproxy at 1 KiB and 64 KiB, >= 100x mitmproxy, <= 200 us added p99)"
"$PYTHON" "$(dirname "$0")/proxy_throughput.py" "$BASETAP" "$WSBENCH"
echo
echo "== replay throughput (issue: >= 50 000 messages/s sent with --pace fast)"
"$PYTHON" "$(dirname "$0")/replay_throughput.py" "$BASETAP"
echo
echo "== fuzz throughput (issue: >= 5 000 mutated messages/s)"
"$PYTHON" "$(dirname "$0")/fuzz_throughput.py" "$BASETAP" "$WSBENCH"
echo
echo "== the web inspector on a million messages (issue: the first page in under a second)"
"$PYTHON" "$(dirname "$0")/view_first_page.py" "$BASETAP"
