#!/usr/bin/env bash
# Run the training and prediction benchmarks and the demo on a lent GPU in one go; write JSON.
#
#   bash bench/gpu.sh [OUT_DIR]          (OUT_DIR defaults to $OUT, then bench/results/gpu)
#
# fijax needs JAX with CUDA (`pip install -e ".[gpu]"`); the script stops early, saying so, when JAX
# sees no GPU. The CAREamics side runs when $CAREAMICS_PYTHON names an interpreter with careamics and a
# CUDA torch on the same machine (the peer is never a fijax dependency); otherwise only fijax's
# numbers are written and the summary says the peer is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-bench/results/gpu}}"
mkdir -p "$out"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/py${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - <<'PYEOF' > "$out/device.json"
import json, jax
devs = jax.devices()
print(json.dumps({"backend": jax.default_backend(), "devices": [str(d) for d in devs],
                  "jax": jax.__version__}))
PYEOF
cat "$out/device.json"
if ! grep -q '"backend": "gpu"' "$out/device.json"; then
  echo "gpu.sh: JAX sees no GPU (install the .[gpu] extra on the GPU machine); stopping" >&2
  exit 3
fi

peer=()
[ -n "${CAREAMICS_PYTHON:-}" ] && peer=(--careamics-python "$CAREAMICS_PYTHON")
seeds="${SEEDS:-3}"
echo "gpu.sh: prediction benchmark"
"$PY" bench/predict.py --size 4096 --repeats 5 "${peer[@]}" > "$out/predict.txt" 2>&1 || echo "predict failed"
echo "gpu.sh: training benchmark ($seeds seeds)"
"$PY" bench/train.py --seeds "$seeds" --epochs "${EPOCHS:-30}" --json "$out/train.json" "${peer[@]}" \
  > "$out/train.txt" 2>&1 || echo "train failed"
echo "gpu.sh: demo"
start=$(date +%s.%N)
FIJAX_HOME="$(mktemp -d)" "$PY" -m fijax demo --out "$out/demo" > "$out/demo.txt" 2>&1 || echo "demo failed"
end=$(date +%s.%N)
"$PY" - "$out" "$start" "$end" <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
summary = {"device": json.loads((out / "device.json").read_text()),
           "demo_seconds": float(sys.argv[3]) - float(sys.argv[2])}
train = out / "train.json"
if train.exists():
    summary["train"] = json.loads(train.read_text()).get("summary")
(out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
print(json.dumps(summary, indent=1))
PYEOF
