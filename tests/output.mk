# Unit tests of the HDF5 output file, the connectome file and generator, and
# `twinbrain connectome`. A fragment of the non-recursive top-level
# Makefile.am (include it from tests/Makefile.inc); paths are relative to the
# top folder. The tests write into their own mkdtemp() folder under /tmp.

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_output tests/unit/test_connectome tests/unit/test_cli_connectome
TESTS += tests/unit/test_output tests/unit/test_connectome tests/unit/test_cli_connectome

tests_unit_test_output_SOURCES = tests/unit/test_output.c tests/unit/testutil.h
tests_unit_test_output_CPPFLAGS = $(AM_CPPFLAGS) $(HDF5_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_output_LDADD = libtwinbrain.la $(HDF5_LIBS) $(CMOCKA_LIBS) -lm

# TB_TOP_SRCDIR: the test checks that the shipped examples/data/synthetic_246.h5
# is exactly what the generator makes.
tests_unit_test_connectome_SOURCES = tests/unit/test_connectome.c tests/unit/testutil.h
tests_unit_test_connectome_CPPFLAGS = $(AM_CPPFLAGS) $(HDF5_CFLAGS) $(CMOCKA_CFLAGS) \
	-DTB_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_connectome_LDADD = libtwinbrain.la $(HDF5_LIBS) $(CMOCKA_LIBS) -lm

# The command's code is in the twinbrain program, not the library, so the
# test compiles it in.
tests_unit_test_cli_connectome_SOURCES = tests/unit/test_cli_connectome.c core/cli/cli_connectome.c
tests_unit_test_cli_connectome_CPPFLAGS = $(AM_CPPFLAGS) $(HDF5_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_cli_connectome_LDADD = libtwinbrain.la $(HDF5_LIBS) $(CMOCKA_LIBS) -lm
endif

EXTRA_DIST += examples/data/README.md
