#!/bin/bash
# A dependency chain: prepare -> compute -> report, each starting only if the one before
# succeeded (afterok). Run it with bash, not sbatch: it submits the three jobs.
set -euo pipefail
cd "$(dirname "$0")"
prep=$(sbatch --parsable -J prepare -o pipeline-prepare-%j.out --wrap 'echo 21 > pipeline.data; sleep 1')
comp=$(sbatch --parsable -J compute -o pipeline-compute-%j.out -d afterok:$prep \
  --wrap 'echo $(( $(cat pipeline.data) * 2 )) > pipeline.result')
rep=$(sbatch --parsable -J report -o pipeline-report-%j.out -d afterok:$comp \
  --wrap 'echo "the answer is $(cat pipeline.result)"')
echo "pipeline: prepare=$prep compute=$comp report=$rep"
