# Tests of the twin kit: an automake fragment included from
# tests/Makefile.inc when the kit is built (configure found protobuf-c).
# The Python tests skip visibly (77) without onnx or torch.
TWIN_TESTS = \
	tests/twin-ops.py \
	tests/twin-ops2.py \
	tests/twin-fnn.py \
	tests/twin-bench.py \
	tests/twin-torch-ops.py \
	tests/twin-sensorium.py \
	tests/twin-state.py \
	tests/twin-experiments.py \
	tests/twin-score.py \
	tests/twin-fit.py \
	tests/twin-similarity.py \
	tests/twin-examples.py \
	tests/twin-errors.sh \
	tests/twin-interrupt.sh \
	tests/twin-plugin.py \
	tests/twin-plugin-template.sh \
	tests/twin-neuralpredictors.py \
	tests/twin-fuse.py \
	tests/twin-exec-fusion.py
TESTS += $(TWIN_TESTS)
EXTRA_DIST += $(TWIN_TESTS) tests/twin_reference.py tests/twin_models.py tests/twin_fnn.py tests/twin.mk
