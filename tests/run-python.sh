#!/bin/sh
# Runs a Python test with the interpreter configure found; without Python 3,
# numpy and h5py the test is skipped (77), saying why.
. tests/env.sh
[ "$TB_PYTHON" != none ] || tb_skip "no python3 with numpy and h5py (apt-get install python3-numpy python3-h5py)"
exec "$TB_PYTHON" "$@"
