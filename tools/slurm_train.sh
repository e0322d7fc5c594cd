#!/usr/bin/env bash
# Training on a Slurm cluster:
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# srun starts one task per GPU; mmengine's slurm launcher reads the ranks
# from Slurm's environment. GPUS (total, default 8), GPUS_PER_NODE
# (default 8), CPUS_PER_TASK (default 5) and SRUN_ARGS (extra srun options,
# e.g. --quotatype=auto) come from the environment; PYTHON picks the
# interpreter.
set -euo pipefail

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}

# SRUN_ARGS is deliberately split into words.
# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "${PYTHON:-python}" -u "$(dirname "$0")/train.py" "$CONFIG" \
    --work-dir="$WORK_DIR" --launcher slurm "${@:5}"
