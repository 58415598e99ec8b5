#!/usr/bin/env bash
# Runs each fuzz target (all by default) for SECONDS, one after another, at the lowest CPU
# priority. Seeds come from corpus/<target> (kept in the repository); new inputs go to
# corpus-work/<target> (not kept); crashes to artifacts/<target>.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(list_params csr jws ncp_signature download)
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  mkdir -p "corpus-work/$target"
  echo "== $target, ${seconds}s"
  nice -n 19 cargo fuzz run "$target" "corpus-work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==|SUMMARY|Done [0-9]+ runs|.*panicked)' || true
done
