#!/usr/bin/env bash
# buf breaking against the contract as it was before the latest commit that changed proto/:
# from the second commit that touches proto/ on, no change may break existing clients.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(git log --format=%H -n 2 -- proto 2>/dev/null | sed -n 2p || true)
if [ -z "$base" ]; then
  echo "buf breaking: proto/ has one version only, nothing to compare"
  exit 0
fi
npx buf breaking proto --against ".git#ref=${base},subdir=proto"
echo "buf breaking: no breaking change against ${base:0:12}"
