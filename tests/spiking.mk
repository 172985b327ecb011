# Tests of the spiking kit: an automake fragment included from
# tests/Makefile.inc (paths relative to the top directory).
SPIKING_TESTS = \
	tests/spiking-neurons.py \
	tests/spiking-connect.py \
	tests/spiking-stats.py \
	tests/spiking-errors.sh \
	tests/spiking-output.py \
	tests/spiking-examples.sh
TESTS += $(SPIKING_TESTS)
EXTRA_DIST += $(SPIKING_TESTS) tests/spiking_reference.py tests/spiking.mk
