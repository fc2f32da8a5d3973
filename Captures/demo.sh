#!/bin/sh
# `make demo`: basetap checks the sample sessions in this folder and shows what it finds.
BIN=${1:-.build/debug/basetap}
DIR=$(dirname "$0")
show() {
  printf '\n\033[1m$ basetap %s\033[0m\n' "$*"
  "$BIN" "$@"
  echo "(exit code $?)"
}
show check "$DIR/clean-session.jsonl"
show check "$DIR/seed-error-example.jsonl"
show check "$DIR/typical-mistakes.jsonl"
show check --profile "$DIR/protocol-core.profile.yaml" --rules schema,type,error.code-foreign "$DIR/typical-mistakes.jsonl"
printf '\n\033[1m$ basetap check --format jsonl --rules chain %s\033[0m\n' "$DIR/typical-mistakes.jsonl"
"$BIN" check --format jsonl --rules chain "$DIR/typical-mistakes.jsonl"
exit 0
