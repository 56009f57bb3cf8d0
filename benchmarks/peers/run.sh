#!/usr/bin/env bash
# Seconds per training epoch: recplug vs RecBole 1.2.1, same data, batch sizes and epochs.
# Usage: benchmarks/peers/run.sh [THREADS] [EPOCHS]   (from the repository root)
# Needs recplug's .venv and RecBole's own venv (PEERS_VENV, default /work/peers-venv).
set -euo pipefail
threads="${1:-2}"; epochs="${2:-3}"
peers="${PEERS_VENV:-/work/peers-venv}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
.venv/bin/python benchmarks/peers/ours.py "$out" --threads "$threads" --epochs "$epochs" > "$out/ours.json"
"$peers/bin/python" benchmarks/peers/recbole_epochs.py "$out" --threads "$threads" --epochs "$epochs" > "$out/recbole.json"
.venv/bin/python benchmarks/peers/compare.py "$out/ours.json" "$out/recbole.json"
