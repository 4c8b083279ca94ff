#!/usr/bin/env python3
"""Writes fuzz/corpus/<target>/ seeds from real inputs: the string literals of each parser's unit
tests (adjacent literals joined, as the compiler joins them), the example scripts and lines of
the published SWF traces. Run from the repository root; files are named by content hash."""
import hashlib
import os
import re
import sys

LITERAL = re.compile(r'R"([^(\s]*)\((.*?)\)\1"|"((?:[^"\\\n]|\\.)*)"', re.S)
ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0'}


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\' and i + 1 < len(s):
            c = s[i + 1]
            if c == 'x':
                m = re.match(r'[0-9a-fA-F]{1,2}', s[i + 2:])
                out.append(chr(int(m.group(0), 16)))
                i += 2 + len(m.group(0))
                continue
            out.append(ESCAPES.get(c, c))
            i += 2
            continue
        out.append(s[i])
        i += 1
    return ''.join(out)


def literals(path):
    """String literals of a C++ file; literals separated only by whitespace are one."""
    text = open(path, encoding='utf-8').read()
    result, current, last_end = [], None, -1
    for m in LITERAL.finditer(text):
        value = m.group(2) if m.group(2) is not None else unescape(m.group(3))
        if current is not None and text[last_end:m.start()].strip() == '':
            current += value
        else:
            if current is not None:
                result.append(current)
            current = value
        last_end = m.end()
    if current is not None:
        result.append(current)
    return result


def write(target, seeds):
    out = os.path.join('fuzz', 'corpus', target)
    os.makedirs(out, exist_ok=True)
    for seed in seeds:
        data = seed.encode('latin-1') if isinstance(seed, str) else seed
        if not data or len(data) > 4096:
            continue
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()[:16]), 'wb') as f:
            f.write(data)


REQUEST = {
    'name': 'train', 'user': 'alice', 'uid': 1000, 'gid': 1000, 'account': 'physics',
    'qos': 'normal', 'partition': 'gpu', 'work_dir': '/home/alice', 'stdout_pattern': 'slurm-%j.out',
    'stderr_pattern': '', 'submit_host': 'login1', 'command': '/home/alice/train.sh',
    'min_nodes': 2, 'max_nodes': 2, 'ntasks': 8, 'ntasks_per_node': 4, 'cpus_per_task': 2,
    'mem_per_node_mb': 4096, 'mem_per_cpu_mb': 0, 'gpus_per_node': 4, 'gpu_type': 'a100',
    'time_limit_s': 3600, 'begin_time': 0, 'exclusive': False, 'requeue': True, 'nice': 0,
    'constraint': 'ib', 'required_nodes': ['gpu01', 'gpu02'], 'excluded_nodes': [],
    'dependency': {'clauses': [{'kind': 2, 'job_id': 12, 'array_task': 3}], 'any': False,
                   'text': 'afterok:12_3'},
    'array_spec': '0-9%2', 'array_max_running': 2, 'open_append': False}
JOB = {
    'job_id': 42, 'request': REQUEST, 'state': 'RUNNING', 'reason': 'None', 'held': False,
    'priority': 1000, 'submit_time': 1773500000, 'eligible_time': 1773500000,
    'start_time': 1773500100, 'end_time': 0, 'array_job_id': 40, 'array_task_id': 2,
    'nodes': ['gpu01', 'gpu02'], 'alloc_cpus': 16, 'cpus_per_node': 8,
    'mem_per_node_alloc_mb': 4096, 'gpu_indices': [[0, 1, 2, 3], [0, 1, 2, 3]], 'exit_code': 0,
    'exit_signal': 0, 'restart_count': 0, 'generation': 1, 'terminating': False,
    'cancel_requested': False, 'preempted_by': 0, 'last_modified': 1773500100,
    'planned_start': 0, 'planned_nodes': []}


def main():
    import json
    write('json_model', [json.dumps(JOB), json.dumps({'job': REQUEST, 'script': '#!/bin/sh\nhostname\n',
                         'env': ['PATH=/usr/bin'], 'args': ['a'], 'hold': True}),
                         json.dumps({'job': {}, 'script': '#!/bin/sh\n'}),
                         json.dumps({'error': {'code': 'NotFound', 'message': 'no such job'}}),
                         json.dumps({'name': 'n1', 'cpus': 8, 'gpu_busy': [True, False],
                                     'running_jobs': [1, 2]})])
    write('hostlist', literals('src/common/hostlist_test.cc'))
    write('slurm_time', literals('src/common/slurm_time_test.cc'))
    write('units', literals('src/common/units_test.cc'))
    write('slurm_conf', [s for s in literals('src/controller/config_test.cc') +
                         literals('src/common/slurm_conf_test.cc') if '=' in s])
    write('job_table', [s for s in literals('src/api/job_table_test.cc') if 'columns' in s])
    # sbatch: every example script, and test scripts with some options before them.
    scripts = [open(os.path.join('examples', f), encoding='utf-8').read()
               for f in sorted(os.listdir('examples'))]
    scripts += [s for s in literals('src/cli/sbatch_options_test.cc') if s.startswith('#!')]
    argvs = ['', '-N\n2\n-n\n8\n', '--wrap=hostname\n', '--array=0-9%2\n-t\n1-0\n',
             '--gpus-per-task=1\n--ntasks-per-node=4\n', 'SBATCH_TIMELIMIT=10\n--mem=4G\n',
             '--dependency=afterok:12_3\n--begin=now+1hour\n', 'job.sh\narg1\n']
    write('sbatch', [a + s for s in scripts for a in argvs[:2]] + [a + scripts[0] for a in argvs])
    lines = open(sys.argv[1] if len(sys.argv) > 1 else
                 '../shared/traces/lublin_256.swf').read().splitlines(True)
    write('swf', [''.join(lines[:12]), ''.join(lines[7:9])] +
          [s for s in literals('src/sim/swf_test.cc') if s.strip()])


main()
