# Tests of perturbations (core/perturb/): an automake fragment included
# from tests/Makefile.inc (paths relative to the top directory).
PERTURB_TESTS = \
	tests/perturbation.py \
	tests/perturbation-template.sh \
	tests/perturbation-examples.py
TESTS += $(PERTURB_TESTS)
EXTRA_DIST += $(PERTURB_TESTS) tests/perturb.mk
