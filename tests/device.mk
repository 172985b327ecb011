# Unit tests of the device and program layers (core/device.c, core/program.c).
# An automake fragment for the non-recursive top-level Makefile.am
# (subdir-objects): paths are relative to the top directory. The tests run on
# whatever OpenCL the machine has (PoCL in CI) and keep every cache they
# touch in a private scratch directory under /tmp.
#
# Memory checks (suppressions cover PoCL, LLVM and glibc's loader only):
#   make check TESTS='tests/unit/test_device tests/unit/test_program' \
#     LOG_COMPILER='$(LIBTOOL) --mode=execute valgrind --leak-check=full \
#       --error-exitcode=1 --suppressions=$(srcdir)/tests/unit/pocl.supp'
#   CFLAGS='-g -O1 -fsanitize=address,undefined' ./configure && \
#     LSAN_OPTIONS=suppressions=$PWD/tests/unit/pocl-lsan.supp make check
EXTRA_DIST += tests/unit/pocl.supp tests/unit/pocl-lsan.supp
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_device tests/unit/test_program
TESTS += tests/unit/test_device tests/unit/test_program

tests_unit_test_device_SOURCES = tests/unit/test_device.c tests/unit/testutil.h tests/unit/testdevices.h
tests_unit_test_device_CPPFLAGS = $(AM_CPPFLAGS) $(OPENCL_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_device_LDADD = libtwinbrain.la $(OPENCL_LIBS) $(CMOCKA_LIBS) -lm

# core/sha256.h is the library's internal SHA-256; the test forges cache
# entries with it. core/binfmt.h: the binary size checks, tested directly.
tests_unit_test_program_SOURCES = tests/unit/test_program.c tests/unit/testutil.h tests/unit/testdevices.h \
	core/sha256.h core/binfmt.h
tests_unit_test_program_CPPFLAGS = $(AM_CPPFLAGS) $(OPENCL_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_program_LDADD = libtwinbrain.la $(OPENCL_LIBS) $(CMOCKA_LIBS) -lm
endif
