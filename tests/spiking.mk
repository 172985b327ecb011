# Tests of the spiking kit: an automake fragment included from
# tests/Makefile.inc (paths relative to the top directory).
SPIKING_TESTS = \
	tests/spiking-neurons.py \
	tests/spiking-nest.py \
	tests/spiking-connect.py \
	tests/spiking-stats.py \
	tests/spiking-poisson.py \
	tests/spiking-errors.sh \
	tests/spiking-output.py \
	tests/spiking-examples.sh \
	tests/brain.py \
	tests/spiking-classes.py \
	tests/brain-assimilation.py \
	tests/brain-twin.py
TESTS += $(SPIKING_TESTS)
EXTRA_DIST += $(SPIKING_TESTS) tests/spiking_reference.py tests/brain_scenario.py tests/spiking.mk tests/validation/microcircuit.py

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_spiking
TESTS += tests/unit/test_spiking
tests_unit_test_spiking_SOURCES = tests/unit/test_spiking.c
tests_unit_test_spiking_CPPFLAGS = $(AM_CPPFLAGS) $(OPENCL_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_spiking_LDADD = libtwinbrain.la $(OPENCL_LIBS) $(CMOCKA_LIBS) -lm
endif
