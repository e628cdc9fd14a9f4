#!/usr/bin/env bash
# Time to 0.95 of the oracle with the learner on a GPU, and the CPU baseline on the same
# machine, in one device session (docs/iagc.md, "Time to a good policy").
#
# The device machine has Python 3.12 and torch but not Ray, PettingZoo or this project, and
# reaches no index; what one call can carry (64 MiB with the checkout, itself about 47 MiB
# on 2026-12-08 and growing with the committed records) is less than Ray's wheel (79 MB; 30
# MB once its Java jar and dashboard client are dropped and it is xz-compressed). So the
# files go in parts of at most $PART_MB MB, one device call each, every call while the
# machine is still warm (30 s after the one before):
#
#   here:       bash scripts/gpu_time_to_target.sh prepare   # builds .gpu/part1..partK (ignored)
#   device:     run(command="bash scripts/gpu_time_to_target.sh stage part1", carry=[".gpu/part1"])
#               ... the same for each part but the last ...
#               run(command="bash scripts/gpu_time_to_target.sh run", carry=[".gpu/partK"],
#                   timeout_s=600)
#   (`prepare` prints the calls; PART_MB=10 bash ... prepare for a larger checkout.)
#
# `run` installs Ray and the other missing packages and this project's wheel into
# $WORK/site ($WORK: ~/dsa_gpu), checks that a tiny run trains with --device cuda, then runs
# `benchmark --time-to-target` for `ours` in setup A at N = 10 and N = 100, seeds 0-2, each
# seed its own process and each run stopped at its goal (any sparsity): the three GPU runs and
# the three CPU runs of one N side by side, then the next N. Each phase has a time limit; a
# run that did not finish in it is recorded as such. Output under $OUT: time_to_target.json
# (every run's result, the limits, the machine), smoke.txt, nvidia-smi.txt, logs.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=(pettingzoo==1.27.0 gymnasium==1.2.2 farama-notifications==0.0.6 dm-tree==0.1.10
        lz4==4.4.5 ormsgpack==1.13.1 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
        referencing==0.37.0 rpds-py==2026.9.1 tensorboardX==2.6.5)
RAY=ray==2.60.0
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
           --platform manylinux1_x86_64)
WORK="$(cd "${HOME:-.}" && pwd)/dsa_gpu"
STAGE=$WORK/stage
PART_MB=${PART_MB:-14}
SITE=$WORK/site
N10_LIMIT_S=${N10_LIMIT_S:-170}
N100_LIMIT_S=${N100_LIMIT_S:-300}

prepare() {
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    rm -rf .gpu && mkdir -p .gpu/tmp/wheels
    python3 -m pip wheel -q --no-deps -w .gpu/tmp/wheels .
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${PLATFORMS[@]}" -d .gpu/tmp/wheels "${WHEELS[@]}"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${PLATFORMS[@]}" -d .gpu/tmp "$RAY"
    (cd .gpu/tmp && mkdir x && cd x && unzip -q ../ray-*.whl \
        && tar cf - --exclude=ray/jars --exclude=ray/dashboard/client . | xz -T2 -6 > ../ray.tar.xz)
    split -b "${PART_MB}M" .gpu/tmp/ray.tar.xz .gpu/tmp/ray.tar.xz.
    local chunks=(.gpu/tmp/ray.tar.xz.??) k=0
    for chunk in "${chunks[@]}"; do
        k=$((k + 1)); mkdir -p ".gpu/part$k"; mv "$chunk" ".gpu/part$k/"
    done
    mv .gpu/tmp/wheels/*.whl ".gpu/part$k/"  # the last call carries the wheels
    rm -rf .gpu/tmp
    du -sh .gpu/part*
    echo "device calls, each at once after the one before:"
    for ((i = 1; i < k; i++)); do
        echo "  run(command=\"bash scripts/gpu_time_to_target.sh stage part$i\", carry=[\".gpu/part$i\"])"
    done
    echo "  run(command=\"bash scripts/gpu_time_to_target.sh run\", carry=[\".gpu/part$k\"], timeout_s=600)"
}

stage() {  # stage PART: keep this call's part on the machine for the last call
    mkdir -p "$STAGE" && cp ".gpu/${1:?name the part, e.g. part1}"/* "$STAGE"/ && ls -la "$STAGE"
}

run_phase() {  # run_phase N LIMIT_S
    local n=$1 limit=$2 pids=()
    for device in cuda cpu; do
        for seed in 0 1 2; do
            timeout "$limit" python3 -m rllib_experiments benchmark --time-to-target \
                --row ours --setup A --num-users "$n" --seeds "$seed" --device "$device" \
                --stop any_sparsity --eval-every 5 --json \
                > "$WORK/ttt/${device}_N${n}_s${seed}.json" 2> "$WORK/ttt/${device}_N${n}_s${seed}.log" &
            pids+=($!)
        done
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
}

run() {
    : "${OUT:?set OUT to the folder the results go to}"
    mkdir -p "$SITE" "$WORK/ttt"
    local last
    last=$(ls -d .gpu/part* | tail -n 1)
    mkdir -p "$STAGE" && cp "$last"/ray.tar.xz.* "$STAGE"/
    cat "$STAGE"/ray.tar.xz.?? | xz -d | tar x -C "$SITE"
    python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$last"/*.whl
    export PYTHONPATH=$SITE OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
    cd "$WORK"  # the installed wheel, not the checkout
    nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
    if python3 -m rllib_experiments train --preset tiny --iterations 2 --device cuda \
        --output "$WORK/smoke" --quiet > "$OUT/smoke.txt" 2>&1; then
        echo "smoke: a tiny run trained with --device cuda" | tee -a "$OUT/smoke.txt"
    else
        echo "smoke: the tiny run with --device cuda FAILED (see above)" | tee -a "$OUT/smoke.txt"
    fi
    run_phase 10 "$N10_LIMIT_S"
    run_phase 100 "$N100_LIMIT_S"
    tail -n 5 "$WORK"/ttt/*.log > "$OUT/logs.txt" 2>&1 || true
    python3 - "$OUT/time_to_target.json" "$N10_LIMIT_S" "$N100_LIMIT_S" "$WORK/ttt" <<'PY'
import glob, json, os, sys

out, limits = sys.argv[1], {"10": int(sys.argv[2]), "100": int(sys.argv[3])}
runs = {}
for path in sorted(glob.glob(os.path.join(sys.argv[4], "*.json"))):
    name = os.path.basename(path)[: -len(".json")]
    text = open(path).read().strip()
    n = name.split("_")[1][1:]
    runs[name] = (
        json.loads(text.splitlines()[-1])
        if text
        else {"finished": False, "note": f"no result within the {limits[n]} s limit"}
    )
json.dump({"limits_s": limits, "runs": runs}, open(out, "w"), indent=1)
print(f"wrote {out}: {len(runs)} runs")
PY
}

case "${1:-}" in
    prepare) prepare ;;
    stage) stage "${2:-}" ;;
    run) run ;;
    *) echo "usage: bash scripts/gpu_time_to_target.sh prepare|stage|run (see the comment at the top)" >&2; exit 2 ;;
esac
