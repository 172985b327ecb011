# TOML parser tests: included from the top-level Makefile.am (non-recursive,
# paths relative to the top). tests/toml-decode is the decoder the toml-test
# corpus drives; tests/toml-conformance.sh runs the corpus when ../shared has
# it and skips (77) otherwise.
check_PROGRAMS += tests/toml-decode
tests_toml_decode_SOURCES = tests/toml-decode.c
tests_toml_decode_CPPFLAGS = $(AM_CPPFLAGS)
tests_toml_decode_LDADD = libtwinbrain.la

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_toml
tests_unit_test_toml_SOURCES = tests/unit/test_toml.c
tests_unit_test_toml_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_toml_LDADD = libtwinbrain.la $(CMOCKA_LIBS)
TESTS += tests/unit/test_toml
endif

TESTS += tests/toml-conformance.sh
EXTRA_DIST += tests/toml-conformance.sh
