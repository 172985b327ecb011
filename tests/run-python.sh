#!/bin/sh
# Runs a Python test with the interpreter configure found; without Python 3,
# numpy and h5py the test is skipped (77), saying why.
. tests/env.sh
[ "$TB_PYTHON" != none ] && [ -n "$TB_PYTHON" ] || tb_skip "python3 not found at configure time"
"$TB_PYTHON" -c 'import numpy, h5py' 2>/dev/null || tb_skip "python3 lacks numpy or h5py (apt-get install python3-numpy python3-h5py)"
exec "$TB_PYTHON" "$@"
