"""A small Toil workflow for the Toil client test: a fan-out of three jobs and a job that sums
their results. Every job reports the shoal job it ran in. Run: toil_workflow.py JOBSTORE OUT."""
import os
import sys

from toil.common import Toil
from toil.job import Job


def square(job, n):
    return n * n, os.environ.get("SLURM_JOB_ID", "none")


def total(job, results):
    values = [r[0] for r in results]
    return sum(values), sorted(r[1] for r in results) + [os.environ.get("SLURM_JOB_ID", "none")]


def fan_out(job):
    parts = [job.addChildJobFn(square, n, cores=1, memory="100M", disk="10M").rv()
             for n in (1, 2, 3)]
    return job.addFollowOnJobFn(total, parts, cores=1, memory="100M", disk="10M").rv()


def main():
    store, out = sys.argv[1], sys.argv[2]
    options = Job.Runner.getDefaultOptions(store)
    options.batchSystem = "slurm"
    options.clean = "always"
    options.logLevel = "INFO"
    options.statePollingWait = 1
    with Toil(options) as toil:
        value, jobs = toil.start(Job.wrapJobFn(fan_out, cores=1, memory="100M", disk="10M"))
    with open(out, "w") as f:
        f.write(f"sum {value} jobs {' '.join(jobs)}\n")


if __name__ == "__main__":
    main()
